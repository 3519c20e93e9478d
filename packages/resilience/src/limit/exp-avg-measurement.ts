/**
 * Exponential moving average over `window` samples, a plain average over the
 * first `warmupWindow` ones (Netflix's `ExpAvgMeasurement`).
 *
 * @internal
 */
export class ExpAvgMeasurement {
  #value = 0;
  #sum = 0;
  #count = 0;
  readonly #factor: number;
  readonly #warmupWindow: number;

  constructor(window: number, warmupWindow: number) {
    this.#factor = 2 / (window + 1);
    this.#warmupWindow = warmupWindow;
  }

  get value(): number {
    return this.#value;
  }

  add(sample: number): number {
    if (this.#count < this.#warmupWindow) {
      this.#count++;
      this.#sum += sample;
      this.#value = this.#sum / this.#count;
    } else {
      this.#value = this.#value * (1 - this.#factor) + sample * this.#factor;
    }
    return this.#value;
  }

  update(operation: (value: number) => number): void {
    this.#value = operation(this.#value);
  }
}
