// Reading a distribution cookie file (like ~/.erlang.cookie or a rendered
// secret). The cookie itself never appears in an error message.

import { readFileSync } from 'node:fs';
import { ErlDistError } from './errors.ts';

export function readCookieFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ErlDistError('usage', `cannot read the cookie file ${file} (${code})`, { cause: e });
  }
  const cookie = text.trim();
  if (cookie === '') throw new ErlDistError('usage', `the cookie file ${file} is empty`);
  if (/[\r\n]/.test(cookie)) {
    throw new ErlDistError('usage', `the cookie file ${file} holds more than one line; it must hold only the cookie`);
  }
  return cookie;
}
