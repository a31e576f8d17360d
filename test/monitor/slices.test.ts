/**
 * Monitoring answers rendered a slice per turn (src/monitor/slices.ts): the
 * text is exactly what Go's json.MarshalIndent / json.Marshal write for the
 * same data, big answers take several turns, one answer is worked on at a
 * time, and errors reach the caller.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LazyList, marshalInSlices, marshalSliced, type Sliced } from '../../src/monitor/slices.js';
import { BadRequest } from '../../src/monitor/query.js';
import { marshalCompact, marshalIndent } from '../../src/text/go-format.js';
import { Rng } from '../helpers/random.js';

/** The value with every LazyList replaced by the array it stands for. */
function eager(v: unknown): unknown {
  if (v instanceof LazyList) return v.items.map((item) => eager(v.make(item)));
  if (Array.isArray(v)) return v.map(eager);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, eager(x)]));
  return v;
}

/** Strings a client could choose (names, subjects), including ones that look like the renderer's marks. */
const AWKWARD = ['', 'plain', '<script>&"quoted"</script>', 'üñí\u2028cødé', 'line\nbreak', '\u0000', '\u00000123:0', '"\\u0000', '[', ']'];

function randomValue(rng: Rng, depth: number): unknown {
  const pick = rng.int(depth > 2 ? 4 : 7);
  switch (pick) {
    case 0: return AWKWARD[rng.int(AWKWARD.length)];
    case 1: return rng.int(1000) - 500;
    case 2: return rng.int(2) === 0;
    case 3: return null;
    case 4: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    case 5: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) o[`k${rng.int(10)}${AWKWARD[rng.int(AWKWARD.length)]}`] = randomValue(rng, depth + 1);
      return o;
    }
    default: {
      const items = Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
      return new LazyList(items, (inner) => ({ n: items.indexOf(inner), inner }));
    }
  }
}

function render(value: unknown, indent: boolean): Promise<string> {
  return marshalSliced(value, indent).then((b) => b.toString('utf8'));
}

describe('sliced JSON rendering', () => {
  it('writes what MarshalIndent and Marshal write, lazy lists included', async () => {
    const connz = {
      server_id: 'S1',
      num_connections: 2,
      connections: new LazyList([1, 2], (cid) => ({
        cid,
        name: cid === 1 ? '<a&b>' : 'ünïcødé',
        subscriptions_list: new LazyList(cid === 1 ? ['x.>', 'y.*'] : [], (s) => s),
        subscriptions_list_detail: new LazyList([`${cid}`], (sid) => ({ subject: 'foo', sid, nested: new LazyList([[1, 2]], (a) => a) })),
      })),
      after: { empty: [], also: new LazyList([], (x) => x) },
    };
    const plain = eager(connz);
    assert.equal(await render(connz, true), marshalIndent(plain));
    assert.equal(await render(connz, false), marshalCompact(plain));
  });

  it('agrees with MarshalIndent and Marshal on random values', async () => {
    const rng = new Rng(1717);
    for (let i = 0; i < 300; i++) {
      const value = randomValue(rng, 0);
      const plain = eager(value);
      assert.equal(await render(value, true), marshalIndent(plain), `indented #${i}`);
      assert.equal(await render(value, false), marshalCompact(plain), `compact #${i}`);
    }
  });

  it('renders a lazy list whole when stringified outside a render', () => {
    assert.equal(JSON.stringify({ a: new LazyList([1, 2], (n) => n * 10) }), '{"a":[10,20]}');
  });

  it('answers at once when one slice is enough, and in later turns when not', async () => {
    let small: string | null = null;
    marshalInSlices({ a: new LazyList([1, 2, 3], (n) => n) }, false, (json) => (small = json.toString()), (e) => assert.fail(String(e)));
    assert.equal(small, '{"a":[1,2,3]}', 'answered synchronously');

    // 200k items take far longer than one slice (a few milliseconds) to render.
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    let big: Buffer | null = null;
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const done = new Promise<void>((resolve, reject) => {
      marshalInSlices({ items: new LazyList(items, (i) => ({ i, s: `item ${i}` })) }, true, (json) => {
        big = json;
        resolve();
      }, reject);
    });
    assert.equal(big, null, 'not answered synchronously');
    await done;
    clearInterval(counting);
    assert.ok(turns > 2, `timers ran ${turns} times while it rendered`);
    assert.equal((big as Buffer | null)?.toString(), marshalIndent({ items: items.map((i) => ({ i, s: `item ${i}` })) }));
  });

  it('computes sliced work before rendering its result', async () => {
    function* work(): Sliced<Record<string, unknown>> {
      let sum = 0;
      for (let i = 0; i < 1000; i++) {
        sum += i;
        yield;
      }
      return { sum, list: new LazyList([sum], (n) => n) };
    }
    assert.equal(await render(work(), false), '{"sum":499500,"list":[499500]}');
  });

  it('works on one answer at a time, in the order asked', async () => {
    const finished: string[] = [];
    const big = (name: string): Promise<void> =>
      marshalSliced({ name, items: new LazyList(Array.from({ length: 50_000 }, (_, i) => i), (i) => ({ i })) }, true).then(() => {
        finished.push(name);
      });
    const first = big('first');
    const second = big('second');
    const small = marshalSliced({ name: 'small' }, true).then(() => finished.push('small'));
    await Promise.all([first, second, small]);
    // The small one was asked for last: it waited for both big ones.
    assert.deepEqual(finished, ['first', 'second', 'small']);
  });

  it('hands errors of the work to the caller, and goes on with the next answer', async () => {
    function* refused(): Sliced<unknown> {
      yield;
      throw new BadRequest('invalid sorting option: x');
    }
    await assert.rejects(marshalSliced(refused(), true), (e: unknown) => e instanceof BadRequest && e.message === 'invalid sorting option: x');
    assert.equal(await render({ ok: true }, false), '{"ok":true}');
  });
});
