// The render stage: pure functions from template text and secret data to
// file text. No I/O here; reading templates and writing files live elsewhere.

export { parseTemplate } from './parse.ts';
export { renderTemplate, type SecretData } from './render.ts';
export { escapeValue, type Escaped } from './escape.ts';
export { inferEscape } from './infer-escape.ts';
export { templateWarnings } from './lint.ts';
export { secretsUsed, showReference, type ParsedTemplate, type TemplatePart, type TemplateReference } from './template.ts';
export { sectionEscapeProblems } from './section-escape.ts';
export { MAX_TEMPLATE_BYTES, MAX_TEMPLATE_TAGS, MAX_SECTION_DEPTH } from './limits.ts';
