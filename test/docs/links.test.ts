// Every link in the README, docs/ and bench/README.md points to a file of this
// repository that exists (and, with a #fragment, to a heading it has): the docs
// speak for themselves and never send the reader outside the repository.
import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of withoutFences(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The lines of a Markdown text outside fenced code blocks. */
function withoutFences(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push(line);
  }
  return out;
}

/** Link targets of a Markdown text: inline links and images, and reference definitions; not inside code. */
function linksOf(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of withoutFences(markdown)) {
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!);
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (def) targets.push(def[1]!);
  }
  return targets;
}

/** What is wrong with one link of the file at `from`, or undefined when it is fine. */
function problemOf(root: string, from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return 'points outside the repository (a URL)';
  if (target.startsWith('/')) return 'is an absolute path; use a path relative to the file';
  const [path, fragment] = target.split('#', 2) as [string, string | undefined];
  const file = path === '' ? from : resolve(dirname(from), decodeURIComponent(path));
  const rel = relative(root, file);
  if (rel === '..' || rel.startsWith(`..${sep}`)) return 'leaves the repository';
  if (!existsSync(file)) return `names ${rel}, which does not exist`;
  if (fragment !== undefined && file.endsWith('.md') && statSync(file).isFile()) {
    if (!anchorsOf(readFileSync(file, 'utf8')).has(fragment)) return `names #${fragment}, which is no heading of ${rel}`;
  }
  return undefined;
}

function problemsOf(root: string, files: string[]): string[] {
  const problems: string[] = [];
  for (const from of files) {
    for (const target of linksOf(readFileSync(from, 'utf8'))) {
      const problem = problemOf(root, from, target);
      if (problem) problems.push(`${relative(root, from)}: (${target}) ${problem}`);
    }
  }
  return problems;
}

const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
const FILES = [join(ROOT, 'README.md'), join(ROOT, 'bench/README.md'), ...docs];

t.test('every link in README.md, docs/*.md and bench/README.md resolves inside the repository', async (t) => {
  t.ok(docs.length >= 10, `docs/ has its pages (${docs.length})`);
  let links = 0;
  for (const f of FILES) links += linksOf(readFileSync(f, 'utf8')).length;
  t.ok(links >= 50, `the pages link to each other (${links} links)`);
  t.same(problemsOf(ROOT, FILES), [], 'no broken, escaping or outside link');
});

t.test('the README leads to every docs/ page', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const f of docs) t.ok(readme.includes(`](docs/${relative(join(ROOT, 'docs'), f)}`), `README links ${relative(ROOT, f)}`);
  t.ok(readme.includes('](bench/README.md)'), 'README links bench/README.md');
});

t.test('the check finds each kind of bad link', async (t) => {
  const sample = [
    '# Title',
    '## Second `part`',
    '[ok](#second-part) [ok too](README.md) [missing](nope.md) [escape](../../outside.md)',
    '[url](https://example.com/x) [shared](http://host/shared/spec/contract.md) [abs](/etc/passwd)',
    '[bad anchor](#third) [other file anchor](README.md#no-such-heading)',
    '`[in code](not-checked.md)`',
    '```',
    '[in a fence](not-checked-either.md)',
    '```',
    '[ref]: gone.md',
  ].join('\n');
  const self = join(ROOT, 'docs', 'sample.md'); // where the sample would sit; it is never written
  t.same(linksOf(sample), [
    '#second-part', 'README.md', 'nope.md', '../../outside.md',
    'https://example.com/x', 'http://host/shared/spec/contract.md', '/etc/passwd',
    '#third', 'README.md#no-such-heading', 'gone.md',
  ], 'links outside code are found, links in code are not');
  t.same(anchorsOf(sample), new Set(['title', 'second-part']), 'anchors as GitHub makes them');
  t.equal(problemOf(ROOT, self, 'README.md'), 'names docs/README.md, which does not exist');
  t.equal(problemOf(ROOT, self, '../README.md'), undefined, 'an existing file is fine');
  t.equal(problemOf(ROOT, self, '../README.md#threat-model'), undefined, 'an existing heading is fine');
  t.match(problemOf(ROOT, self, '../README.md#no-such-heading'), /no heading of README\.md/);
  t.equal(problemOf(ROOT, self, '../../outside.md'), 'leaves the repository');
  t.equal(problemOf(ROOT, self, 'https://example.com/x'), 'points outside the repository (a URL)');
  t.equal(problemOf(ROOT, self, 'http://host/shared/spec/contract.md'), 'points outside the repository (a URL)');
  t.match(problemOf(ROOT, self, '/etc/passwd'), /absolute path/);
  t.match(problemOf(ROOT, self, 'gone.md'), /does not exist/);
});
