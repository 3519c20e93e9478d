/**
 * @internal log-linear latency histogram (ms): 32 buckets per power of two from
 * 1 µs to ~ 2^22 ms; percentiles within ~2 %. Constant memory, O(1) record.
 */
export class LatencyHistogram {
  static readonly #SUB = 32;
  static readonly #MIN_EXP = -10; // 2^-10 ms ≈ 1 µs
  static readonly #EXPONENTS = 33;
  readonly #counts = new Float64Array(LatencyHistogram.#SUB * LatencyHistogram.#EXPONENTS);
  #total = 0;
  #sum = 0;
  #max = 0;

  record(ms: number): void {
    const value = Math.max(ms, 0);
    this.#counts[this.#index(value)] = (this.#counts[this.#index(value)] ?? 0) + 1;
    this.#total++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#total;
  }

  /** Sum of the recorded values, in ms. */
  get sum(): number {
    return this.#sum;
  }

  /**
   * Cumulative counts at each bound (ms, ascending): the values recorded in
   * buckets whose upper edge is at most the bound (a value within ~3 % below a
   * bound may be counted at the next one). For Prometheus `le` buckets.
   */
  cumulative(boundsMs: readonly number[]): number[] {
    const out: number[] = [];
    let seen = 0;
    let i = 0;
    for (const bound of boundsMs) {
      while (i < this.#counts.length && this.#upper(i) <= bound) seen += this.#counts[i++] ?? 0;
      out.push(seen);
    }
    return out;
  }

  /** Value at percentile `p` (0–100), in ms; 0 when empty. */
  percentile(p: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#total);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.#upper(i), this.#max);
    }
    return this.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#total = 0;
    this.#sum = 0;
    this.#max = 0;
  }

  #index(ms: number): number {
    const sub = LatencyHistogram.#SUB;
    if (ms <= 2 ** LatencyHistogram.#MIN_EXP) return 0;
    const exp = Math.floor(Math.log2(ms));
    const e = Math.min(Math.max(exp - LatencyHistogram.#MIN_EXP, 0), LatencyHistogram.#EXPONENTS - 1);
    const base = 2 ** (e + LatencyHistogram.#MIN_EXP);
    const s = Math.min(sub - 1, Math.floor(((ms - base) / base) * sub));
    return e * sub + Math.max(0, s);
  }

  #upper(index: number): number {
    const sub = LatencyHistogram.#SUB;
    const e = Math.floor(index / sub);
    const s = index % sub;
    const base = 2 ** (e + LatencyHistogram.#MIN_EXP);
    return base + ((s + 1) * base) / sub;
  }
}
