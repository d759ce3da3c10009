-- Guild governance: a server may also lift a word of the built-in banned list. Such a row has
-- allowed = 1 and takes the word off that server's list; rows with allowed = 0 add a word.
-- Withdrawing either change sets removed_at, as before.
ALTER TABLE banned_words ADD COLUMN allowed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_guild ON jobs (guild_id, status);
