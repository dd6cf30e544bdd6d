CREATE TABLE accounts (name TEXT PRIMARY KEY);
CREATE TABLE entries (id INTEGER PRIMARY KEY, debit TEXT NOT NULL, credit TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT INTO accounts VALUES ('cash'), ('bank'), ('rent');
