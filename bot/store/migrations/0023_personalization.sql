-- Personalization (issue 23): style embeddings of archive images, ranked pairs, the stored styles
-- behind profile and moodboard codes, members' profiles and moodboards.

-- The IP-Adapter's style embedding of an archive image (job, image n), per adapter: computed on
-- the GPU worker once, reused by every profile that counts the image.
CREATE TABLE style_embeddings (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    adapter TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (job_id, idx, adapter)
);

-- /personalize: the member preferred image (preferred_job, preferred_idx) over the other one.
CREATE TABLE style_pairs (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    preferred_job TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    preferred_idx INTEGER NOT NULL,
    other_job TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    other_idx INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX style_pairs_by_user ON style_pairs (user_id);

-- The style behind a code: float32 rows (a profile: one; a moodboard: one per image). The code
-- is derived from adapter + kind + rows (bot/governance/style_profiles.py), not from a member.
CREATE TABLE style_codes (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('profile', 'moodboard')),
    adapter TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vectors BLOB NOT NULL,
    created_at REAL NOT NULL
);

-- A member's current profile: its code and how many signals it was learned from.
CREATE TABLE member_profiles (
    user_id INTEGER PRIMARY KEY,
    code TEXT NOT NULL REFERENCES style_codes (code),
    signals INTEGER NOT NULL,
    updated_at REAL NOT NULL
);

-- A member's moodboards (user_id: the owner, so the erase routine finds them): a name, the image sources (JSON list of links or "job:<id>/<n>") and
-- the code of their embeddings (NULL while empty).
CREATE TABLE moodboards (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',
    code TEXT REFERENCES style_codes (code),
    created_at REAL NOT NULL,
    UNIQUE (user_id, name)
);
