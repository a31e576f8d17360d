/**
 * Message tracing across accounts and permissions (ADR-41): a service
 * import (`si`) and a stream export (`se`) show in the trace, which
 * follows into the other account only with allow_trace; a publish the
 * user may not make is reported as the ingress error; a destination the
 * user may not publish to stops the message; an account's `msg_trace`
 * traces W3C `traceparent` messages; configuration errors as nats-server
 * words them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { assertProblem, security } from '../auth/helpers.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { sleep } from '../helpers/wait.js';
import { nextEvent, traceListener } from './trace-helpers.js';

function traceHeaders(dest: string, only = false): MsgHdrs {
  const h = headers();
  h.set('Nats-Trace-Dest', dest);
  if (only) h.set('Nats-Trace-Only', 'true');
  return h;
}

const ACCOUNTS = {
  SVC: {
    users: [{ user: 'svc', password: 'p' }],
    exports: [
      { service: 'traced.svc', allow_trace: true },
      { service: 'private.svc' },
      { stream: 'ticker.>' },
    ],
  },
  APP: {
    users: [
      { user: 'app', password: 'p' },
      { user: 'limited', password: 'p', permissions: { publish: { allow: ['ok.>', 'trace.ok'] } } },
    ],
    imports: [
      { service: { account: 'SVC', subject: 'traced.svc' } },
      { service: { account: 'SVC', subject: 'private.svc' } },
      { stream: { account: 'SVC', subject: 'ticker.>' }, allow_trace: true },
    ],
    msg_trace: { dest: 'app.traces', sampling: '100%' },
  },
};

describe('message tracing across accounts', () => {
  let srv: TestNatter;
  let app: NatsConnection;
  let svc: NatsConnection;

  before(async () => {
    srv = await startNatter({ server_name: 'acc', accounts: ACCOUNTS });
    app = await connect({ servers: srv.url, user: 'app', pass: 'p', name: 'app' });
    svc = await connect({ servers: srv.url, user: 'svc', pass: 'p', name: 'svc' });
  });

  after(async () => {
    await app?.close();
    await svc?.close();
    await srv?.close();
  });

  it('follows a request through a service import that allows tracing', async () => {
    svc.subscribe('traced.svc', { callback: (_e, m) => { m.respond('pong'); } });
    await svc.flush();
    const events = traceListener(app, 'trace.a');
    await app.flush();
    const reply = await app.request('traced.svc', 'ping', { headers: traceHeaders('trace.a'), timeout: 2000 });
    assert.equal(reply.string(), 'pong');
    const ev = await nextEvent(events);
    assert.deepEqual(ev.events.map((e) => e.type), ['in', 'si', 'eg']);
    assert.equal(ev.events[0].acc, 'APP');
    assert.deepEqual(ev.events[1], { ...ev.events[1], acc: 'SVC', from: 'traced.svc', to: 'traced.svc' });
    assert.deepEqual(Object.keys(ev.events[1]), ['type', 'ts', 'acc', 'from', 'to']);
    // The egress is in another account than the ingress: it names it.
    assert.equal(ev.events[2].acc, 'SVC');
    assert.equal(ev.events[2].name, 'svc');
  });

  it('stops at a service export without allow_trace: trace-only goes no further', async () => {
    let served = 0;
    svc.subscribe('private.svc', { callback: () => { served++; } });
    await svc.flush();
    const events = traceListener(app, 'trace.b');
    await app.flush();
    app.publish('private.svc', 'x', { headers: traceHeaders('trace.b', true) });
    const ev = await nextEvent(events);
    assert.deepEqual(ev.events.map((e) => e.type), ['in', 'si']);
    // Delivered for real, it reaches the responder, untraced there.
    app.publish('private.svc', 'y', { headers: traceHeaders('trace.b') });
    const ev2 = await nextEvent(events);
    await svc.flush();
    await sleep(30);
    assert.deepEqual(ev2.events.map((e) => e.type), ['in', 'si']);
    assert.equal(served, 1);
  });

  it('follows a stream export into an importer that allows tracing', async () => {
    const got: string[] = [];
    app.subscribe('ticker.>', { callback: (_e, m) => { got.push(m.subject); } });
    await app.flush();
    const events = traceListener(svc, 'trace.c');
    await svc.flush();
    svc.publish('ticker.acme', '1', { headers: traceHeaders('trace.c') });
    const ev = await nextEvent(events);
    assert.deepEqual(ev.events.map((e) => e.type), ['in', 'se', 'eg']);
    assert.equal(ev.events[1].acc, 'APP');
    assert.equal(ev.events[1].to, 'ticker.acme');
    assert.equal(ev.events[2].acc, 'APP');
    assert.deepEqual(got, ['ticker.acme']);
  });

  it('reports a publish the user may not make as the ingress error', async () => {
    const limited = await connect({ servers: srv.url, user: 'limited', pass: 'p', name: 'limited' });
    try {
      const events = traceListener(app, 'trace.ok');
      await app.flush();
      limited.publish('denied.x', 'x', { headers: traceHeaders('trace.ok') });
      const ev = await nextEvent(events);
      assert.deepEqual(ev.events.map((e) => e.type), ['in']);
      assert.equal(ev.events[0].error, 'Permissions Violation for Publish to "denied.x"');
    } finally {
      await limited.close().catch(() => undefined);
    }
  });

  it('refuses a trace destination the user may not publish to, and drops the message', async () => {
    const limited = await connect({ servers: srv.url, user: 'limited', pass: 'p', name: 'limited' });
    const errors: string[] = [];
    limited.closed().catch(() => undefined);
    (async () => {
      for await (const s of limited.status()) if (s.type === 'error') errors.push(String(s.error));
    })().catch(() => undefined);
    try {
      let got = 0;
      app.subscribe('ok.y', { callback: () => { got++; } });
      const events = traceListener(app, 'not.allowed');
      await app.flush();
      limited.publish('ok.y', 'x', { headers: traceHeaders('not.allowed') });
      await limited.flush().catch(() => undefined);
      await sleep(50);
      assert.equal(events.length, 0);
      assert.equal(got, 0);
      assert.ok(errors.some((e) => e.includes('Permissions Violation for Publish to "not.allowed"')), errors.join('\n'));
    } finally {
      await limited.close().catch(() => undefined);
    }
  });

  it('traces a sampled traceparent to the account destination, not an unsampled one', async () => {
    app.subscribe('w3c.x', { callback: () => undefined });
    const events = traceListener(app, 'app.traces');
    await app.flush();
    const sampled = headers();
    sampled.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const unsampled = headers();
    unsampled.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    app.publish('w3c.x', 'no', { headers: unsampled });
    app.publish('w3c.x', 'yes', { headers: sampled });
    const ev = await nextEvent(events);
    await app.flush();
    await sleep(30);
    assert.equal(events.length, 0);
    assert.deepEqual(ev.request.header, { traceparent: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'] });
    assert.deepEqual(ev.events.map((e) => e.type), ['in', 'eg']);
  });
});

describe('msg_trace and allow_trace configuration', () => {
  it('accepts a destination string or a map with a sampling percentage', () => {
    assert.deepEqual(security('accounts { A { msg_trace: "a.traces" } }').accounts[0].msgTrace, { dest: 'a.traces', sampling: 100 });
    assert.deepEqual(security('accounts { A { msg_trace: { dest: "a.traces", sampling: "25%" } } }').accounts[0].msgTrace, { dest: 'a.traces', sampling: 25 });
    assert.deepEqual(security('accounts { A { trace_dest: { dest: "a.traces", sampling: 5 } } }').accounts[0].msgTrace, { dest: 'a.traces', sampling: 5 });
  });

  it('refuses what nats-server refuses, in its words', () => {
    assertProblem('accounts { A { msg_trace: "a.*" } }', 'Trace destination "a.*" is not valid');
    assertProblem('accounts { A { msg_trace: { dest: "a", sampling: 0 } } }', 'Ttrace destination sampling value 0 is invalid, needs to be [1..100]');
    assertProblem('accounts { A { msg_trace: { dest: "a", sampling: "x%" } } }', 'Invalid trace destination sampling value "x%"');
    assertProblem('accounts { A { msg_trace: { dest: "a", where: 1 } } }', 'Unknown field "where" parsing account message trace map/struct "msg_trace"');
    assertProblem('accounts { A { exports: [ { stream: "s", allow_trace: true } ] } }', 'Detected allow_trace directive on non-service');
    assertProblem('accounts { A { exports: [ { service: "s" } ] }, B { imports: [ { service: { account: A, subject: "s" }, allow_trace: true } ] } }',
      'Detected allow_trace directive on a non-stream');
  });
});
