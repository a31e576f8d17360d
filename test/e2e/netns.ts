/**
 * A private network for a multi-process cluster, built from Linux network
 * namespaces with `ip` (iproute2):
 *
 *   - one "switch" namespace holding two bridges: `brc` (the cluster
 *     network: routes and Raft) and `bra` (the access network: clients and
 *     monitoring);
 *   - one namespace per node, with a veth `clu` on `brc` and a veth `acc`
 *     on `bra`;
 *   - one veth from the test process's (root) namespace into `bra`, so the
 *     test reaches every node's client and HTTP ports whatever happens to
 *     the cluster network.
 *
 * A partition moves nodes' cluster ports onto separate bridges: packets
 * between the groups are dropped silently (no RST, no ICMP), as when a
 * switch fails, while the access network stays whole. Healing puts every
 * port back on `brc`.
 *
 * Everything lives in namespaces named after this run, so deleting them
 * removes every interface; teardown also runs from a process exit hook.
 */
import { execFileSync } from 'node:child_process';

let serial = 0;
const liveNetworks = new Set<NetnsNetwork>();
let exitHookInstalled = false;

/** Why namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'the e2e fault tests need root (they create network namespaces with `ip netns`); run them as root, as CI does';
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the e2e fault tests need `ip` from iproute2 (apt-get install iproute2)';
  }
  return null;
}

function ip(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`ip ${args.join(' ')}: ${stderr || (e as Error).message}`);
  }
}

function ipQuiet(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

export class NetnsNetwork {
  /** Namespace of node i. */
  readonly nodeNs: readonly string[];
  /** Address of node i on the cluster network (routes). */
  readonly clusterAddr: readonly string[];
  /** Address of node i on the access network (clients, HTTP). */
  readonly accessAddr: readonly string[];
  /** The test process's address on the access network. */
  readonly hostAddr: string;
  private readonly switchNs: string;
  private readonly hostIf: string;
  private readonly extraBridges = new Set<string>();
  private torn = false;

  private constructor(readonly size: number) {
    // Names unique to this process and harness, short enough for interface names (15 bytes).
    const tag = `${process.pid % 100000}x${serial}`;
    const subnet = ((process.pid + serial * 7) % 250) + 1;
    serial++;
    this.switchNs = `e2e${tag}sw`;
    this.hostIf = `e2e${tag}h`;
    this.nodeNs = Array.from({ length: size }, (_, i) => `e2e${tag}n${i + 1}`);
    this.clusterAddr = Array.from({ length: size }, (_, i) => `10.246.${subnet}.${i + 1}`);
    this.accessAddr = Array.from({ length: size }, (_, i) => `10.247.${subnet}.${i + 1}`);
    this.hostAddr = `10.247.${subnet}.254`;
  }

  /** Builds the namespaces, bridges and links; throws (after cleaning up) when `ip` refuses. */
  static create(size: number): NetnsNetwork {
    const why = netnsUnavailable();
    if (why !== null) throw new Error(why);
    const net = new NetnsNetwork(size);
    installExitHook();
    liveNetworks.add(net);
    try {
      net.build();
    } catch (e) {
      net.teardown();
      throw e;
    }
    return net;
  }

  private build(): void {
    const sw = this.switchNs;
    ip(['netns', 'add', sw]);
    for (const br of ['brc', 'bra']) {
      ip(['-n', sw, 'link', 'add', br, 'type', 'bridge']);
      ip(['-n', sw, 'link', 'set', br, 'up']);
    }
    ip(['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', 'host', 'netns', sw]);
    ip(['-n', sw, 'link', 'set', 'host', 'master', 'bra', 'up']);
    ip(['addr', 'add', `${this.hostAddr}/24`, 'dev', this.hostIf]);
    ip(['link', 'set', this.hostIf, 'up']);
    for (let i = 0; i < this.size; i++) {
      const ns = this.nodeNs[i];
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      for (const [inner, outer, br, addr] of [
        ['clu', `c${i}`, 'brc', this.clusterAddr[i]],
        ['acc', `a${i}`, 'bra', this.accessAddr[i]],
      ] as const) {
        ip(['link', 'add', inner, 'netns', ns, 'type', 'veth', 'peer', 'name', outer, 'netns', sw]);
        ip(['-n', sw, 'link', 'set', outer, 'master', br, 'up']);
        ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', inner]);
        ip(['-n', ns, 'link', 'set', inner, 'up']);
      }
    }
  }

  /** argv that runs `argv` inside node i's namespace (`ip netns exec` execs, so the PID is the program's). */
  wrap(i: number, argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.nodeNs[i], ...argv];
  }

  /**
   * Splits the cluster network: nodes in different groups cannot reach each
   * other; nodes in no group stay with the first group.
   */
  partition(groups: readonly (readonly number[])[]): void {
    const sw = this.switchNs;
    groups.forEach((members, g) => {
      const br = g === 0 ? 'brc' : `brp${g}`;
      if (g > 0 && !this.extraBridges.has(br)) {
        ip(['-n', sw, 'link', 'add', br, 'type', 'bridge']);
        ip(['-n', sw, 'link', 'set', br, 'up']);
        this.extraBridges.add(br);
      }
      for (const i of members) ip(['-n', sw, 'link', 'set', `c${i}`, 'master', br]);
    });
  }

  /** Cuts node i off from every other node (its clients still reach it). */
  isolate(i: number): void {
    const others = Array.from({ length: this.size }, (_, k) => k).filter((k) => k !== i);
    this.partition([others, [i]]);
  }

  /** Every node back on one cluster network. */
  heal(): void {
    const sw = this.switchNs;
    for (let i = 0; i < this.size; i++) ip(['-n', sw, 'link', 'set', `c${i}`, 'master', 'brc']);
    for (const br of this.extraBridges) ipQuiet(['-n', sw, 'link', 'del', br]);
    this.extraBridges.clear();
  }

  /** Deletes the namespaces (and with them every veth, including the host leg's peer). Idempotent. */
  teardown(): void {
    if (this.torn) return;
    this.torn = true;
    liveNetworks.delete(this);
    for (const ns of this.nodeNs) ipQuiet(['netns', 'del', ns]);
    ipQuiet(['netns', 'del', this.switchNs]);
    ipQuiet(['link', 'del', this.hostIf]);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const n of [...liveNetworks]) n.teardown();
  });
}
