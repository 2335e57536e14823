// The validation API: rules + data -> problems (never values).
export { validateSecret, type ValidationContext } from './validate-secret.ts';
export { formatProblems, problemsError } from './report.ts';
export type { Problem } from './problem.ts';
