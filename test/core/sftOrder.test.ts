/** The SFT epoch order (core/expert/sft.ts sftEpochBatches, core/seeds.ts sftEpochShuffleSeed): issue 23 item 4. */
import { sftBatchesPerEpoch, sftEpochBatches } from '../../src/core/expert/sft';
import { createRng, randInt } from '../../src/core/rng';
import { sftEpochShuffleSeed } from '../../src/core/seeds';

test('the epoch seed is imul(seed, 0x2545f491) + imul(epoch + 1, 0x9e3779b9), as an unsigned 32-bit integer', () => {
  // seed 1, epoch 0: 0x2545f491 + 0x9e3779b9 = 625341585 + 2654435769 = 3279777354 (< 2^32)
  expect(sftEpochShuffleSeed(1, 0)).toBe(3279777354);
  // seed 2, epoch 1: 2 * 625341585 + 2 * 2654435769 = 6559554708, minus 2^32 = 2264587412
  expect(sftEpochShuffleSeed(2, 1)).toBe(2264587412);
});

test('epoch 0 of seed 1 is the Fisher-Yates shuffle of its draws, worked by hand, cut into batches of 2', () => {
  // the draws j for i = 4, 3, 2, 1 of the epoch's stream
  const st = createRng(3279777354);
  expect([5, 4, 3, 2].map((n) => randInt(st, n))).toEqual([3, 1, 2, 0]);
  // [a b c d e] -(4<->3)-> [a b c e d] -(3<->1)-> [a e c b d] -(2<->2)-> same -(1<->0)-> [e a c b d]
  expect(sftEpochBatches(['a', 'b', 'c', 'd', 'e'], 2, 1, 0)).toEqual([['e', 'a'], ['c', 'b'], ['d']]);
});

test('every epoch is a new order of the same examples; the same (seed, epoch) always gives the same one', () => {
  const ex = ['a', 'b', 'c', 'd', 'e'];
  const orders = [0, 1, 2].map((e) => sftEpochBatches(ex, 2, 1, e));
  expect(orders.map((o) => o.flat().join(''))).toEqual(['eacbd', 'bceda', 'ecabd']);
  for (const o of orders) {
    expect(o.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(o.flat().sort()).toEqual(ex);
  }
  expect(sftEpochBatches(ex, 2, 1, 1)).toEqual(orders[1]);
  expect(sftEpochBatches(ex, 2, 2, 1)).not.toEqual(orders[1]); // another run seed, another order
});

test('batches per epoch: ceil(n / size)', () => {
  expect(sftBatchesPerEpoch(5, 2)).toBe(3);
  expect(sftBatchesPerEpoch(4, 2)).toBe(2);
  expect(sftBatchesPerEpoch(1, 8)).toBe(1);
  expect(sftBatchesPerEpoch(0, 8)).toBe(0);
});
