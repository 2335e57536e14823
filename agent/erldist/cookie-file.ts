// Reading a distribution cookie file (like ~/.erlang.cookie or a rendered
// secret). The cookie itself never appears in an error message.

import { isReadRefusal, readBoundedSync } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';
import { ErlDistError } from './errors.ts';

export function readCookieFile(file: string): string {
  let text: string;
  try {
    // bounded, and never a FIFO or a device: a cookie is a short line
    text = readBoundedSync(file, READ_LIMITS.cookie).toString('latin1');
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    const why = e.kind === 'errno' ? `(${e.errno})` : e.message;
    throw new ErlDistError('usage', `cannot read the cookie file ${file} ${why}`, { cause: e });
  }
  const cookie = text.trim();
  if (cookie === '') throw new ErlDistError('usage', `the cookie file ${file} is empty`);
  if (/[\r\n]/.test(cookie)) {
    throw new ErlDistError('usage', `the cookie file ${file} holds more than one line; it must hold only the cookie`);
  }
  return cookie;
}
