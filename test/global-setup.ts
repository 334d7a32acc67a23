// Replaced by the foundation work: starts one embedded PostgreSQL for the run.
export default async function setup(): Promise<void> {}
