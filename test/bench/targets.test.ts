/** bench/targets.ts: a target not yet met everywhere misses softly within its guard, and fails beyond it. */
import { describe, expect, it } from 'vitest';
import { guardedTarget } from '../../bench/targets.js';

const ratio = (value: number) =>
  guardedTarget({ name: 'x vs y', value, target: 1.2, guard: 1.5, better: 'lower', format: (v) => `${v.toFixed(2)}×`, detail: 'd' });
const share = (value: number) =>
  guardedTarget({ name: 'scan', value, target: 0.85, guard: 0.4, better: 'higher', format: (v) => `${Math.round(v * 100)} %`, detail: 'd' });

describe('guardedTarget', () => {
  it('holds at or inside the target', () => {
    expect(ratio(1.2)).toEqual({ name: 'x vs y ≤ 1.20×', ok: true, detail: '1.20×; d' });
    expect(share(0.9)).toEqual({ name: 'scan ≥ 85 %', ok: true, detail: '90 %; d' });
  });

  it('misses softly (advisory: does not fail --check) between the target and the guard', () => {
    const r = ratio(1.35);
    expect(r.ok).toBe(false);
    expect(r.advisory).toMatch(/within the regression guard ≤ 1\.50×/);
    expect(share(0.5).advisory).toMatch(/≥ 40 %/);
  });

  it('fails beyond the guard, and says so', () => {
    const r = ratio(1.6);
    expect(r).toEqual({ name: 'x vs y ≤ 1.20×', ok: false, detail: '1.60×; d — beyond the regression guard ≤ 1.50×' });
    expect(share(0.3).advisory).toBeUndefined();
  });
});
