/** The benchmarks' knobs: a positive whole number from the environment, else the default. */
export const intEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? '');
  return Number.isInteger(value) && value > 0 ? value : fallback;
};
