/** A CLI command: name, usage text, and what it runs (its one-line summary lives in main.ts's list). */
export interface Command {
  name: string;
  usage: string;
  /** Resolves with the exit code. */
  run(args: string[]): Promise<number>;
}

export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}
