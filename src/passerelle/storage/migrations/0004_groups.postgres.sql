-- Group bodies are ciphertext: storing them EXTERNAL skips a useless compression attempt.
ALTER TABLE bodies ALTER COLUMN body SET STORAGE EXTERNAL;
