// Bounds concurrent work per backend so an init with many secrets does not
// open dozens of connections to one Vault at once.

export class Limiter {
  #active = 0;
  readonly #queue: Array<() => void> = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }
}
