/** A CLI command: name, one-line summary, usage text, and what it runs. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Resolves with the exit code. */
  run(args: string[]): Promise<number>;
}

export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}
