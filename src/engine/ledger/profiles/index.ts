/** The JSONL profiles, most specific first; generic JSONL takes whatever no tool recognises. */
import { claudeCodeProfile } from './claude-code';
import { codexProfile } from './codex';
import { genericProfile } from './generic';
import type { JsonlProfile, JsonlProfileId } from './types';

export type { JsonlProfile, JsonlProfileId } from './types';
export { genericProfile };

const PROFILES: readonly JsonlProfile[] = [claudeCodeProfile, codexProfile, genericProfile];

export const JSONL_PROFILE_IDS: readonly JsonlProfileId[] = PROFILES.map((p) => p.id);

export function jsonlProfileById(id: JsonlProfileId): JsonlProfile | undefined {
  return PROFILES.find((p) => p.id === id);
}

/** The profile of a file whose first record is `first`. */
export function recogniseProfile(first: unknown, path: string): JsonlProfile {
  for (const profile of PROFILES) {
    try {
      if (profile.recognise(first, path)) return profile;
    } catch {
      // a profile that cannot read this value does not recognise it
    }
  }
  return genericProfile;
}
