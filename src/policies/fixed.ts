/** Fixed-exit baselines: always exit k ("fixed:k", 1-based in specs) or always the last exit ("last"). */
import type { LearnedPolicy, Policy } from './types.js';

export class FixedExit implements Policy {
  readonly name: string;
  constructor(private readonly exit: number, name?: string) {
    this.name = name ?? `fixed:${exit + 1}`;
  }
  begin(): number {
    return this.exit;
  }
  stop(): boolean {
    return true;
  }
  end(): void {}
  learned(): LearnedPolicy {
    return { kind: 'fixed', exit: this.exit };
  }
}
