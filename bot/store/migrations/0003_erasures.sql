-- One erase routine for /forget-me and /purge-guild: the intent is recorded first, so an erase
-- interrupted by a crash is finished at the next start (rows and files end consistent).
-- The subject is a column name ('user_id' or 'guild_id') and a value; `subject_id` is not named
-- after either column so that erasing by column never deletes the intent itself.
CREATE TABLE erasures (
    subject TEXT NOT NULL CHECK (subject IN ('user_id', 'guild_id')),
    subject_id INTEGER NOT NULL,
    requested_by INTEGER,
    channel_id INTEGER,
    requested_at REAL NOT NULL,
    PRIMARY KEY (subject, subject_id)
);
