import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Linear } from '../../src/nn/linear.js';
import { LowRankLinear } from '../../src/nn/low-rank-linear.js';
import { Module } from '../../src/nn/module.js';
import { lowRankPaths, swapToLowRank } from '../../src/nn/swap.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertFails } from '../rank/helpers.js';

class Block extends Module {
  readonly proj: Linear;
  constructor(rng: Rng) {
    super();
    this.proj = new Linear(6, 5, { rng });
  }
}
class Net extends Module {
  readonly blocks: Block[];
  readonly head: Linear;
  constructor(rng: Rng) {
    super();
    this.blocks = [new Block(rng), new Block(rng)];
    this.head = new Linear(5, 4, { rng });
  }
}

describe('low-rank swap pass', () => {
  it('swaps Linear layers by path, inside arrays too; parameters are renamed a.weight / b.weight / b.bias', () => {
    const net = new Net(new Rng(1));
    const swapped = swapToLowRank(net, new Map([['blocks.1.proj', 2], ['head', 3]]));
    assert.deepEqual(swapped.sort(), ['blocks.1.proj', 'head']);
    assert.ok((net.blocks[1]!.proj as unknown) instanceof LowRankLinear);
    assert.deepEqual(lowRankPaths(net), new Map([['blocks.1.proj', 2], ['head', 3]]));
    const names = net.namedParameters().map(([n]) => n);
    assert.ok(names.includes('blocks.1.proj.a.weight') && names.includes('head.b.bias') && names.includes('blocks.0.proj.weight'));
    assert.equal(net.namedParameters().find(([n]) => n === 'head.a.weight')![1].shape.join('x'), '3x5');
  });

  it('is strict: unknown paths and non-Linear modules are reported together, nothing changes', () => {
    const net = new Net(new Rng(1));
    assertFails(() => swapToLowRank(net, new Map([['head', 2], ['blocks.0', 2], ['nope', 1]])), 'config', "'blocks.0' is not a dense Linear", "'nope' is not a module");
    assert.ok(net.head instanceof Linear);
  });

  it('Linear.toLowRank(r) is the truncated SVD: exact at the rank of the weights', async () => {
    const rng = new Rng(2);
    const lin = new Linear(6, 5, { rng });
    // Make W rank 2: W = u·vᵀ + u'·v'ᵀ.
    const u = rng.normalArray(10);
    const v = rng.normalArray(12);
    const w = new Float32Array(30);
    for (let o = 0; o < 5; o++) for (let i = 0; i < 6; i++) w[o * 6 + i] = (u[o] as number) * (v[i] as number) + (u[5 + o] as number) * (v[6 + i] as number);
    lin.weight.assign(w);
    const lr = await lin.toLowRank(2);
    const x = Tensor.from(rng.normalArray(24), [4, 6]);
    const a = (await lin.forward(x).toArray()) as Float32Array;
    const b = (await lr.forward(x).toArray()) as Float32Array;
    a.forEach((val, i) => assert.ok(Math.abs(val - (b[i] as number)) < 1e-4, `${i}: ${val} vs ${b[i]}`));
    await assert.rejects(() => lin.toLowRank(5), /min\(d_in, d_out\) = 5/);
  });
});
