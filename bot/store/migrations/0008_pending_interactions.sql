-- Interactions acknowledged (deferred) but not yet answered: a restart finishes or answers
-- those still within Discord's 15 minutes (bot/discord/pending.py).
CREATE TABLE pending_interactions (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL,
    application_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    parent_channel_id INTEGER,
    command TEXT NOT NULL,
    prompt TEXT NOT NULL,
    upload_limit INTEGER,
    received_at REAL NOT NULL
);
