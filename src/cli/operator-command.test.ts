import { describe, expect, it } from 'vitest';
import { parseDurationMs } from './operator-command.js';

describe('parseDurationMs (--leader-elect-* flags)', () => {
  it.each([
    { name: 'seconds', text: '8s', ms: 8000 },
    { name: 'fractional seconds', text: '1.5s', ms: 1500 },
    { name: 'milliseconds', text: '1500ms', ms: 1500 },
    { name: 'minutes', text: '1m', ms: 60_000 },
    { name: 'surrounding spaces', text: ' 2s ', ms: 2000 },
  ])('$name: $text', ({ text, ms }) => {
    expect(parseDurationMs(text, '--flag')).toBe(ms);
  });

  it.each([
    { name: 'no unit', text: '15' },
    { name: 'unknown unit', text: '2h' },
    { name: 'negative', text: '-1s' },
    { name: 'zero', text: '0s' },
    { name: 'empty', text: '' },
  ])('rejects $name, naming the flag', ({ text }) => {
    expect(() => parseDurationMs(text, '--leader-elect-lease-duration')).toThrow(/--leader-elect-lease-duration/);
  });
});
