export async function openLedger(..._a: unknown[]): Promise<any> { throw new Error("not yet"); }
