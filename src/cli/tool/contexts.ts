/**
 * Saved connection settings ("contexts"), as natscli keeps them: one JSON
 * file per context under `$XDG_CONFIG_HOME/natter/context/` (else
 * `~/.config/natter/context/`), with natscli's field names, and the
 * selected context's name in `natter/context.txt` beside that folder.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from './errors.js';

/** natscli's context file fields that Natter's connections use. */
export interface ContextSettings {
  description?: string;
  url?: string;
  token?: string;
  user?: string;
  password?: string;
  creds?: string;
  nkey?: string;
  cert?: string;
  key?: string;
  ca?: string;
  tls_first?: boolean;
}

const STRING_FIELDS = ['description', 'url', 'token', 'user', 'password', 'creds', 'nkey', 'cert', 'key', 'ca'] as const;

function configRoot(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.config'), 'natter');
}

export function contextDir(): string {
  return join(configRoot(), 'context');
}

function selectedFile(): string {
  return join(configRoot(), 'context.txt');
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw new ToolError(`invalid context name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
}

function contextFile(name: string): string {
  checkName(name);
  return join(contextDir(), `${name}.json`);
}

export function contextExists(name: string): boolean {
  return existsSync(contextFile(name));
}

export function loadContext(name: string): ContextSettings {
  const file = contextFile(name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ToolError(`unknown context ${JSON.stringify(name)} (no ${file})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ToolError(`context ${JSON.stringify(name)}: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ToolError(`context ${JSON.stringify(name)}: ${file} must hold a JSON object`);
  const obj = raw as Record<string, unknown>;
  const settings: ContextSettings = {};
  for (const field of STRING_FIELDS) {
    const v = obj[field];
    if (typeof v === 'string' && v !== '') settings[field] = v;
  }
  if (obj.tls_first === true) settings.tls_first = true;
  return settings;
}

export function saveContext(name: string, settings: ContextSettings): string {
  const file = contextFile(name);
  mkdirSync(contextDir(), { recursive: true, mode: 0o700 });
  // natscli writes every field, empty ones as "", so either tool reads the other's files.
  const full: Record<string, string | boolean> = {};
  for (const field of STRING_FIELDS) full[field] = settings[field] ?? '';
  full.tls_first = settings.tls_first === true;
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
  return file;
}

export function removeContext(name: string): void {
  const file = contextFile(name);
  if (!existsSync(file)) throw new ToolError(`unknown context ${JSON.stringify(name)}`);
  rmSync(file);
  if (selectedContext() === name) rmSync(selectedFile(), { force: true });
}

export function listContexts(): string[] {
  if (!existsSync(contextDir())) return [];
  return readdirSync(contextDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function selectedContext(): string | undefined {
  try {
    const name = readFileSync(selectedFile(), 'utf8').trim();
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

export function selectContext(name: string): void {
  if (!contextExists(name)) throw new ToolError(`unknown context ${JSON.stringify(name)}`);
  mkdirSync(configRoot(), { recursive: true, mode: 0o700 });
  writeFileSync(selectedFile(), `${name}\n`);
}
