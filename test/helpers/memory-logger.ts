// A real agent logger (agent/log/logger.ts: pino, redaction, scrubbing) that
// writes into memory, so tests can assert on what an operator would see.

import { createLogger, type Logger } from '../../agent/log/logger.ts';

export interface MemoryLogger {
  logger: Logger;
  /** every line written so far */
  text(): string;
}

export function memoryLogger(level: 'trace' | 'debug' | 'info' = 'trace'): MemoryLogger {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => lines.push(line) } });
  return { logger, text: () => lines.join('') };
}
