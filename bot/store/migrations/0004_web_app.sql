-- The web app: favourites, stealth mode, browser sessions and single-use editor links.

-- A member's favourite images (a grid job's image n, or the single image of an upscale: n = 0).
CREATE TABLE favourites (
    user_id INTEGER NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (user_id, job_id, idx)
);
CREATE INDEX favourites_by_job ON favourites (job_id);

-- /stealth and /public: a member in stealth mode has their jobs kept out of server galleries.
CREATE TABLE member_visibility (
    user_id INTEGER PRIMARY KEY,
    stealth INTEGER NOT NULL DEFAULT 0,
    changed_at REAL NOT NULL
);

-- Signed-in browsers. The cookie holds the id (signed); `guilds` is the JSON list of the
-- member's servers [{"id": "...", "name": "..."}] as Discord gave it at sign-in.
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    guilds TEXT NOT NULL DEFAULT '[]',
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- Editor links already used (a link works once); rows go once the link has expired anyway.
CREATE TABLE web_nonces (
    nonce TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    used_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
