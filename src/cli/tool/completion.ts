/**
 * `natter completion bash|zsh`: a completion script generated from the
 * command table, so it always lists the commands and flags this build has.
 * zsh uses the same script through bashcompinit.
 */
import type { ToolCommand } from './command.js';
import { CONNECTION_FLAGS } from './connection.js';
import { ToolError } from './errors.js';
import { FAMILIES, loadAllCommands } from './registry.js';

function flagWords(c: ToolCommand): string {
  const names = Object.keys(c.connects ? { ...c.flags, ...CONNECTION_FLAGS } : c.flags);
  return [...names.map((n) => `--${n}`), '--help'].join(' ');
}

function bashCompletion(commands: readonly ToolCommand[]): string {
  const top = [...FAMILIES.map((f) => f.name), 'auth', 'completion'].join(' ');
  const families = new Map<string, string[]>();
  for (const c of commands) {
    const [family, verb] = c.words.split(' ');
    if (verb !== undefined) families.set(family, [...(families.get(family) ?? []), verb]);
  }
  const flagCases = commands.map((c) => {
    const pattern = c.words.includes(' ') ? `"${c.words}"` : `"${c.words} "*`;
    return `      ${pattern}) COMPREPLY=($(compgen -W "${flagWords(c)}" -- "$cur")); return ;;`;
  }).join('\n');
  const verbCases = [...families]
    .map(([family, verbs]) => `      ${family}) COMPREPLY=($(compgen -W "${verbs.join(' ')}" -- "$cur")) ;;`)
    .join('\n');
  return `# natter completion; load with: source <(natter completion bash)
_natter() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${top} --help --version" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${flagCases}
    esac
    return
  fi
  if [[ $COMP_CWORD -eq 2 ]]; then
    case "\${COMP_WORDS[1]}" in
${verbCases}
      completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    esac
  fi
}
complete -F _natter natter
`;
}

export const COMPLETION: ToolCommand = {
  words: 'completion',
  args: '<bash|zsh>',
  summary: 'print a shell completion script',
  connects: false,
  flags: {},
  async run(inv) {
    const shell = inv.flags.required(0, '<bash|zsh>');
    if (shell !== 'bash' && shell !== 'zsh') throw new ToolError(`unknown shell ${JSON.stringify(shell)}: bash or zsh`);
    const script = bashCompletion(await loadAllCommands());
    inv.out.write(shell === 'bash' ? script : `#compdef natter\n# load with: source <(natter completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${script}`);
    return 0;
  },
};
