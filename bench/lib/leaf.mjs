// Leaf-node scenarios (`leaf: true`): each side runs a hub and a leaf of its own
// server, the leaf dialling the hub's leafnode port (nats-server on A, Natter on B).
// Clients that publish or request are on the leaf, subscribers and responders on
// the hub, so every message crosses the leaf connection.
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes the hub's and the leaf's config files and returns the two commands:
 * the side's command plus `-c <file>`. The hub listens for leaf connections on
 * leafPort; the leaf has that port as its one remote. reconnect 1 s: a leaf that
 * starts before the hub listens (it never does here, the hub is ready first) or
 * loses it tries again soon.
 */
export function leafCommands(cmd, dir, tag, leafPort) {
  const hubFile = path.join(dir, `${tag}.hub.conf`);
  const leafFile = path.join(dir, `${tag}.leaf.conf`);
  fs.writeFileSync(hubFile, `leafnodes { host: "127.0.0.1", port: ${leafPort} }\n`);
  fs.writeFileSync(leafFile, `leafnodes { reconnect: 1, remotes: [ { url: "nats://127.0.0.1:${leafPort}" } ] }\n`);
  return { hub: `${cmd} -c ${hubFile}`, leaf: `${cmd} -c ${leafFile}` };
}
