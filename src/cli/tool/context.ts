/** `natter context add|edit|ls|select|show|rm`: saved connection settings. */
import { JSON_FLAG, type ToolCommand } from './command.js';
import { contextDir, contextExists, listContexts, loadContext, removeContext, saveContext, selectContext, selectedContext, type ContextSettings } from './contexts.js';
import { ToolError } from './errors.js';
import type { Flags } from './args.js';

/** Flag name -> context field, with natscli's flag names. */
const SETTING_FLAGS = {
  server: 'url',
  user: 'user',
  password: 'password',
  token: 'token',
  creds: 'creds',
  nkey: 'nkey',
  tlscert: 'cert',
  tlskey: 'key',
  tlsca: 'ca',
  description: 'description',
} as const;

const CONTEXT_FLAGS = {
  server: { kind: 'string', short: 's', help: 'server URLs' },
  user: { kind: 'string', help: 'user name' },
  password: { kind: 'string', help: 'password' },
  token: { kind: 'string', help: 'token' },
  creds: { kind: 'string', help: 'creds file' },
  nkey: { kind: 'string', help: 'nkey seed file' },
  tlscert: { kind: 'string', help: 'TLS client certificate file' },
  tlskey: { kind: 'string', help: 'TLS client key file' },
  tlsca: { kind: 'string', help: 'TLS CA file' },
  tlsfirst: { kind: 'boolean', help: 'TLS handshake first' },
  description: { kind: 'string', help: 'what the context is for' },
} as const;

function applyFlags(base: ContextSettings, flags: Flags): ContextSettings {
  const next: ContextSettings = { ...base };
  for (const [flag, field] of Object.entries(SETTING_FLAGS)) {
    const v = flags.str(flag);
    if (v !== undefined) next[field] = v;
  }
  if (flags.bool('tlsfirst')) next.tls_first = true;
  return next;
}

/** A context's settings with the secrets masked, for show/ls. */
function masked(s: ContextSettings): ContextSettings {
  return { ...s, ...(s.password ? { password: '*********' } : {}), ...(s.token ? { token: '*********' } : {}) };
}

const ADD: ToolCommand = {
  words: 'context add',
  args: '<name>',
  summary: 'save connection settings under a name',
  connects: false,
  flags: { ...CONTEXT_FLAGS, select: { kind: 'boolean', help: 'also select it' } },
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    if (contextExists(name)) throw new ToolError(`context ${JSON.stringify(name)} exists; use \`natter context edit ${name}\``);
    const file = saveContext(name, applyFlags({}, inv.flags));
    if (inv.flags.bool('select')) selectContext(name);
    inv.out.note(`Saved context ${JSON.stringify(name)} in ${file}`);
    return 0;
  },
};

const EDIT: ToolCommand = {
  words: 'context edit',
  args: '<name>',
  summary: 'change settings of a saved context',
  connects: false,
  flags: CONTEXT_FLAGS,
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    saveContext(name, applyFlags(loadContext(name), inv.flags));
    inv.out.note(`Updated context ${JSON.stringify(name)}`);
    return 0;
  },
};

const LS: ToolCommand = {
  words: 'context ls',
  args: '',
  summary: 'list saved contexts (the selected one marked *)',
  connects: false,
  flags: JSON_FLAG,
  async run(inv) {
    const selected = selectedContext();
    const names = listContexts();
    if (inv.flags.bool('json')) {
      inv.out.json(names.map((name) => ({ name, selected: name === selected, ...masked(loadContext(name)) })));
      return 0;
    }
    if (names.length === 0) {
      inv.out.note(`No contexts in ${contextDir()}`);
      return 0;
    }
    inv.out.table(
      ['Name', 'Description', 'URL'],
      names.map((n) => {
        const c = loadContext(n);
        return [n === selected ? `${n}*` : n, c.description ?? '', c.url ?? ''];
      }),
    );
    return 0;
  },
};

const SELECT: ToolCommand = {
  words: 'context select',
  args: '<name>',
  summary: 'use this context when --context is not given',
  connects: false,
  flags: {},
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    selectContext(name);
    inv.out.note(`Selected context ${JSON.stringify(name)}`);
    return 0;
  },
};

const SHOW: ToolCommand = {
  words: 'context show',
  args: '[name]',
  summary: 'show a context (default: the selected one)',
  connects: false,
  flags: JSON_FLAG,
  async run(inv) {
    const name = inv.flags.positionals[0] ?? selectedContext();
    if (name === undefined) throw new ToolError('no context selected; name one: natter context show <name>');
    const c = masked(loadContext(name));
    if (inv.flags.bool('json')) {
      inv.out.json({ name, selected: name === selectedContext(), ...c });
      return 0;
    }
    inv.out.fields([
      ['Name', name],
      ['Description', c.description],
      ['Server URLs', c.url],
      ['Username', c.user],
      ['Password', c.password],
      ['Token', c.token],
      ['Credentials', c.creds],
      ['NKey', c.nkey],
      ['Certificate', c.cert],
      ['Key', c.key],
      ['CA', c.ca],
      ['TLS first', c.tls_first ? 'yes' : undefined],
    ]);
    return 0;
  },
};

const RM: ToolCommand = {
  words: 'context rm',
  args: '<name>',
  summary: 'delete a saved context',
  connects: false,
  flags: {},
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    removeContext(name);
    inv.out.note(`Removed context ${JSON.stringify(name)}`);
    return 0;
  },
};

export const CONTEXT_COMMANDS: readonly ToolCommand[] = [ADD, EDIT, LS, SELECT, SHOW, RM];
