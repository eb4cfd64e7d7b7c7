/**
 * Files named like locks that are not locks: package managers' dependency lockfiles. They are
 * never listed or judged as locks (a "stale Cargo.lock" warning would be nonsense).
 */
export const DEPENDENCY_LOCKFILES: readonly string[] = Object.freeze([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'bun.lock',
  'deno.lock',
  'Cargo.lock',
  'poetry.lock',
  'Pipfile.lock',
  'pdm.lock',
  'uv.lock',
  'pylock.toml',
  'requirements.lock',
  'requirements-dev.lock',
  'pixi.lock',
  'conda-lock.yml',
  'Gemfile.lock',
  'gems.locked',
  'composer.lock',
  'flake.lock',
  'devbox.lock',
  'go.sum',
  'go.work.sum',
  'mix.lock',
  'rebar.lock',
  'Podfile.lock',
  'Cartfile.resolved',
  'Package.resolved',
  'packages.lock.json',
  'paket.lock',
  'project.assets.json',
  'pubspec.lock',
  'gradle.lockfile',
  'buildscript-gradle.lockfile',
  'Chart.lock',
  '.terraform.lock.hcl',
  'MODULE.bazel.lock',
  'conan.lock',
  'vcpkg-lock.json',
  'shard.lock',
  'stack.yaml.lock',
  'cabal.project.freeze',
  'Manifest.toml',
  'renv.lock',
  'Berksfile.lock',
  'Puppetfile.lock',
  'esy.lock',
  'Brewfile.lock.json',
  'cpanfile.snapshot',
]);

const lowerCased = new Set(DEPENDENCY_LOCKFILES.map((n) => n.toLowerCase()));

/** True for a dependency lockfile's base name (case-insensitive, for case-insensitive file systems). */
export function isDependencyLockfile(name: string): boolean {
  const base =
    name
      .split(/[\\/]/)
      .filter((s) => s.length > 0)
      .pop() ?? '';
  return lowerCased.has(base.toLowerCase()) || /\.lockfile$/i.test(base);
}
