-- /settings Personalization (issue 23): `--p` on by default for this member, and which profile or
-- moodboard code it applies ('' = the member's own profile).
ALTER TABLE user_settings ADD COLUMN personalize INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_settings ADD COLUMN profile TEXT NOT NULL DEFAULT '';
