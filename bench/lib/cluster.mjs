// Three-node JetStream clusters for the R3 scenarios: starting them, waiting
// until an R3 stream can be created, and the two fault measurements
// (failover after kill -9 of the stream leader, catch-up of a restarted
// replica). Node i is started from the side's command plus JetStream and
// cluster flags, with its own store directory that survives a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startServer } from './server.mjs';
import { makePayload, nowNs } from './proto.mjs';
import { JsConn, benchStream, freshStream, publishWindow } from './jetstream.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const STREAM = 'BENCH';
const SUBJECT = 'bench.js.x';

/**
 * Starts `nodes` servers routed to each other (every node lists every other
 * one) with JetStream on. Returns startServer handles with { name, httpPort,
 * nodeDir, template, logFile } added; stopServer() removes the node's
 * directory (store included).
 */
export async function startJsCluster(cmd, { nodes, cwd, logFile, gcFile = () => null }) {
  const specs = [];
  for (let i = 0; i < nodes; i++) {
    specs.push({ name: `n${i + 1}`, port: await freePort(), httpPort: await freePort(), clusterPort: await freePort() });
  }
  return specs.map((s, i) => {
    const nodeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-bench-r3-'));
    const routes = specs.filter((_, k) => k !== i).map((o) => `nats-route://127.0.0.1:${o.clusterPort}`).join(',');
    const template =
      `${cmd} -js -sd ${path.join(nodeDir, 'store')} -n ${s.name} -m ${s.httpPort}` +
      ` --cluster nats://127.0.0.1:${s.clusterPort} --cluster_name bench --routes ${routes}`;
    return launch({ ...s, nodeDir, template, logFile: logFile(i), gcFile: gcFile(i), cwd });
  });
}

function launch(node) {
  const srv = startServer(node.template, { port: node.port, cwd: node.cwd, logFile: node.logFile, gcFile: node.gcFile });
  // The store lives in nodeDir (kept across restarts); stopServer removes srv.dir.
  fs.rmSync(srv.dir, { recursive: true, force: true });
  // srv.gcFile stays startServer's: null when the command is not node, so nothing is probed.
  Object.assign(srv, { name: node.name, httpPort: node.httpPort, nodeDir: node.nodeDir, template: node.template, logFile: node.logFile, cwd: node.cwd });
  srv.dir = node.nodeDir;
  return srv;
}

/** Starts a stopped node again with the same command, port and store. */
function relaunch(srv) {
  return launch({ name: srv.name, port: srv.port, httpPort: srv.httpPort, nodeDir: srv.nodeDir, template: srv.template, logFile: srv.logFile, gcFile: srv.gcFile, cwd: srv.cwd });
}

/** SIGKILL to the node's process group; resolves when it has exited. */
async function kill9(srv) {
  srv.stopping = true;
  try {
    process.kill(-srv.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  await srv.exitPromise;
}

/**
 * Waits until the cluster can create (and delete) an R3 stream: a meta
 * leader exists and knows enough peers.
 */
export async function waitJsCluster(servers, timeoutMs) {
  const c = await JsConn.open(servers[0].port);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    for (;;) {
      try {
        await c.api('$JS.API.STREAM.CREATE.BENCH_PROBE', { name: 'BENCH_PROBE', subjects: ['bench.probe'], num_replicas: servers.length, storage: 'memory' });
        await c.api('$JS.API.STREAM.DELETE.BENCH_PROBE');
        return;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > deadline) throw new Error(`no R${servers.length} stream could be created within ${timeoutMs} ms: ${last}`);
      await sleep(250);
    }
  } finally {
    c.close();
  }
}

async function streamLeader(c, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const info = await c.api(`$JS.API.STREAM.INFO.${STREAM}`);
      if (info.cluster?.leader) return info.cluster.leader;
    } catch {
      /* no leader yet */
    }
    if (Date.now() > deadline) throw new Error(`no leader for ${STREAM} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const isPubAck = (m) => m.hdr === '' && m.data.includes('"seq"') && !m.data.includes('"error"');

/**
 * kill -9 of the R3 stream leader while a client on another node publishes
 * one message at a time: the time from the kill to the first PubAck of a
 * message sent after it.
 */
async function runFailover(ctx, sc) {
  const { servers, cfg } = ctx;
  const payload = makePayload(sc.size);
  let c = await JsConn.open(servers[0].port);
  try {
    await freshStream(c, benchStream(servers.length));
    const warm = await publishWindow(c, SUBJECT, payload, 1000, 64, cfg.timeoutMs);
    if (warm.acked !== 1000) throw new Error(`warm-up acked ${warm.acked}/1000`);
    const leaderName = await streamLeader(c, cfg.setupMs);
    const li = servers.findIndex((s) => s.name === leaderName);
    if (li < 0) throw new Error(`stream leader ${leaderName} is not a node of this cluster`);
    // Publish from a node that stays up, so the client itself does not fail over.
    c.close();
    c = await JsConn.open(servers[(li + 1) % servers.length].port);
    const bound = Math.max(cfg.timeoutMs, 30000);
    let failures = 0;
    let killedAt = 0;
    let recovered = 0;
    const killer = sleep(300).then(async () => {
      killedAt = nowNs();
      await kill9(servers[li]);
    });
    const deadline = Date.now() + bound;
    while (Date.now() < deadline) {
      const sentAt = nowNs();
      let ok = false;
      try {
        ok = isPubAck(await c.request(SUBJECT, payload, 1000));
      } catch {
        /* timed out */
      }
      if (ok && killedAt > 0 && sentAt >= killedAt) {
        recovered = nowNs();
        break;
      }
      if (!ok) {
        failures++;
        await sleep(10);
      }
    }
    await killer;
    if (recovered === 0) return { errors: [`no PubAck within ${bound} ms of the kill`], truncated: true, ok: false };
    const newLeader = await streamLeader(c, cfg.setupMs);
    return {
      failover_ms: Math.round((recovered - killedAt) / 1e6),
      failed_publishes: failures,
      killed: leaderName,
      new_leader: newLeader,
      sent: 1,
      errors: [],
      ok: true,
    };
  } finally {
    c.close();
  }
}

async function localLastSeq(srv) {
  try {
    const res = await fetch(`http://127.0.0.1:${srv.httpPort}/jsz?accounts=true&streams=true`, { signal: AbortSignal.timeout(1000) });
    const j = await res.json();
    for (const a of j.account_details ?? []) for (const s of a.stream_detail ?? []) if (s.name === STREAM) return s.state.last_seq;
  } catch {
    /* not up yet */
  }
  return -1;
}

/**
 * A follower is killed, n messages go to the R3 stream (the other two are a
 * quorum), the follower starts again: the time from its start until its own
 * /jsz shows the stream's last sequence.
 */
async function runCatchup(ctx, sc, n) {
  const { servers, cfg } = ctx;
  const payload = makePayload(sc.size);
  let c = await JsConn.open(servers[0].port);
  try {
    await freshStream(c, benchStream(servers.length));
    const leaderName = await streamLeader(c, cfg.setupMs);
    const li = servers.findIndex((s) => s.name === leaderName);
    const fi = (li + 1) % servers.length;
    c.close();
    c = await JsConn.open(servers[li].port);
    await kill9(servers[fi]);
    const t0 = nowNs();
    const pub = await publishWindow(c, SUBJECT, payload, n, sc.inflight, cfg.timeoutMs * 6);
    const pubS = (nowNs() - t0) / 1e9;
    if (pub.acked !== n) return { errors: [`acked ${pub.acked}/${n} with one node down`], truncated: true, ok: false };
    const target = await localLastSeq(servers[li]);
    const startedAt = nowNs();
    servers[fi] = relaunch(servers[fi]);
    const bound = Math.max(cfg.timeoutMs, 60000);
    const deadline = Date.now() + bound;
    let seq = -1;
    while (Date.now() < deadline) {
      seq = await localLastSeq(servers[fi]);
      if (seq >= target) break;
      if (servers[fi].exited) return { errors: ['the restarted node exited'], ok: false };
      await sleep(20);
    }
    if (seq < target) return { errors: [`restarted node at seq ${seq}/${target} after ${bound} ms`], truncated: true, ok: false };
    return {
      catchup_ms: Math.round((nowNs() - startedAt) / 1e6),
      publish_msgs_per_s_one_down: Math.round(n / pubS),
      caught_up_to: target,
      sent: n,
      errors: [],
      ok: true,
    };
  } finally {
    c.close();
  }
}

/** Runs an R3 fault scenario (sc.fault: 'failover' | 'catchup') on a ready cluster. */
export async function runR3Fault(ctx, sc, n) {
  await waitJsCluster(ctx.servers, ctx.cfg.setupMs);
  try {
    if (sc.fault === 'failover') return await runFailover(ctx, sc);
    if (sc.fault === 'catchup') return await runCatchup(ctx, sc, n);
    throw new Error(`unknown R3 fault ${sc.fault}`);
  } catch (e) {
    return { errors: [e.message], ok: false, truncated: true };
  }
}

