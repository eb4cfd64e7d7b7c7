/** The version `ledgerlock --version` prints (the tiny entry answers it without the bundle). */
export const VERSION = process.env.LEDGERLOCK_VERSION ?? '0.1.0';
