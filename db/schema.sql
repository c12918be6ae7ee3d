-- Tandem database schema for MySQL / MariaDB, for setting a database up by hand:
--
--     mysql tandem < db/schema.sql          (or: mariadb tandem < db/schema.sql)
--
-- It is the schema the Alembic migrations in db/migrations/versions create, at revision
-- 0010_while_waiting, written out as plain DDL: same tables, columns, types, nullability,
-- indexes, constraints and foreign keys, InnoDB and utf8mb4 (binary collation, so strings
-- compare as on SQLite). It also creates alembic_version stamped with that revision, so the app's start-up
-- migration (db.migrate.upgrade) finds the database up to date and leaves it alone.
--
-- KEEP IN SYNC: a new migration must be mirrored here (and the stamped revision bumped).
-- tests/db/test_migrations.py loads this file into a scratch MariaDB database and compares it,
-- through information_schema, with a database built by the migrations; it fails on any drift.
--
-- Safe to re-run: tables are created only if missing, and the revision only stamped on an
-- empty alembic_version.

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS agents (
    email VARCHAR(255) NOT NULL,
    name VARCHAR(100) NOT NULL,
    `role` VARCHAR(16) NOT NULL,
    id INTEGER NOT NULL AUTO_INCREMENT,
    password_hash VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_poll_at DATETIME(6) NULL,
    ws_until DATETIME(6) NULL,
    disabled BOOL NOT NULL DEFAULT 0,
    token_version INTEGER NOT NULL DEFAULT 0,
    status VARCHAR(16) NOT NULL DEFAULT 'available',
    max_chats INTEGER NOT NULL DEFAULT 3,
    last_assigned_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ix_agents_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS rooms (
    id VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    agent_id INTEGER NULL,
    last_seq INTEGER NOT NULL,
    created_at DATETIME(6) NOT NULL,
    waiting_since DATETIME(6) NULL,
    closed_at DATETIME(6) NULL,
    brief VARCHAR(1000) NULL,
    user_messages INTEGER NOT NULL DEFAULT 0,
    ai_messages INTEGER NOT NULL DEFAULT 0,
    agent_messages INTEGER NOT NULL DEFAULT 0,
    system_messages INTEGER NOT NULL DEFAULT 0,
    priority BOOL NOT NULL DEFAULT 0,
    visitor_id VARCHAR(32) NULL,
    user_seen_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    KEY ix_rooms_agent_id (agent_id),
    KEY ix_rooms_status_waiting_since (status, waiting_since),
    KEY ix_rooms_visitor_id (visitor_id),
    FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS messages (
    text TEXT NOT NULL,
    client_id VARCHAR(64) NULL,
    id BIGINT NOT NULL AUTO_INCREMENT,
    room_id VARCHAR(32) NOT NULL,
    seq INTEGER NOT NULL,
    sender VARCHAR(8) NOT NULL,
    author VARCHAR(100) NOT NULL,
    agent_id INTEGER NULL,
    created_at DATETIME(6) NOT NULL,
    while_waiting BOOL NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uq_messages_room_seq UNIQUE (room_id, seq),
    CONSTRAINT uq_messages_room_client_id UNIQUE (client_id, room_id),
    KEY ix_messages_created_at (created_at),
    KEY ix_messages_room_sender_created (room_id, sender, created_at),
    -- No index of its own on agent_id: InnoDB adds one for this foreign key, as it does when
    -- the migration creates the table.
    FOREIGN KEY (room_id) REFERENCES rooms (id),
    FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS room_events (
    id INTEGER NOT NULL AUTO_INCREMENT,
    room_id VARCHAR(32) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    from_status VARCHAR(16) NULL,
    to_status VARCHAR(16) NULL,
    reason VARCHAR(32) NULL,
    agent_id INTEGER NULL,
    created_at DATETIME(6) NOT NULL,
    next_kind VARCHAR(16) NULL,
    next_at DATETIME(6) NULL,
    first_reply_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    KEY ix_room_events_room_id (room_id),
    KEY ix_room_events_agent_id (agent_id),
    KEY ix_room_events_kind_created_at (kind, created_at),
    FOREIGN KEY (room_id) REFERENCES rooms (id),
    FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Statistics rollups (db/rollups.py). Loaded by hand they start empty: `tandem stats rebuild`
-- fills them from rooms already there (the migration does this itself).
CREATE TABLE IF NOT EXISTS stats_rollups (
    span INTEGER NOT NULL,
    slot BIGINT NOT NULL,
    metric VARCHAR(24) NOT NULL,
    label VARCHAR(32) NOT NULL,
    bucket INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (span, slot, metric, label, bucket),
    KEY ix_stats_rollups_metric_span_slot (metric, span, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS stats_room_folds (
    room_id VARCHAR(32) NOT NULL,
    slot BIGINT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL,
    contribution TEXT NOT NULL,
    PRIMARY KEY (room_id),
    KEY ix_stats_room_folds_slot (slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS stats_fold_state (
    name VARCHAR(32) NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Team tools: saved replies and private notes (not messages: no seq, not in the counters).
CREATE TABLE IF NOT EXISTS saved_replies (
    id INTEGER NOT NULL AUTO_INCREMENT,
    shortcut VARCHAR(32) NOT NULL,
    title VARCHAR(100) NOT NULL,
    text TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ix_saved_replies_shortcut (shortcut)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS notes (
    id INTEGER NOT NULL AUTO_INCREMENT,
    room_id VARCHAR(32) NOT NULL,
    agent_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    KEY ix_notes_agent_id (agent_id),
    KEY ix_notes_room_created (room_id, created_at),
    FOREIGN KEY (room_id) REFERENCES rooms (id),
    FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Ratings: the user's "How did we do?", one per closed room (0008).
CREATE TABLE IF NOT EXISTS ratings (
    room_id VARCHAR(32) NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT NULL,
    agent_id INTEGER NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (room_id),
    KEY ix_ratings_agent_id (agent_id),
    FOREIGN KEY (room_id) REFERENCES rooms (id),
    FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Follow-ups: an email and a message left while no agent was online (Tandem sends no mail).
CREATE TABLE IF NOT EXISTS followups (
    id INTEGER NOT NULL AUTO_INCREMENT,
    room_id VARCHAR(32) NOT NULL,
    email VARCHAR(254) NOT NULL,
    text TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    done_at DATETIME(6) NULL,
    done_by INTEGER NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ix_followups_room_id (room_id),
    KEY ix_followups_done_created (done_at, created_at),
    FOREIGN KEY (room_id) REFERENCES rooms (id),
    FOREIGN KEY (done_by) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Console sessions: a revocable "stay logged in", stored as the SHA-256 of the browser's secret.
CREATE TABLE IF NOT EXISTS agent_sessions (
    id VARCHAR(64) NOT NULL,
    agent_id INTEGER NOT NULL,
    token_version INTEGER NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    revoked_at DATETIME(6) NULL,
    PRIMARY KEY (id),
    KEY ix_agent_sessions_agent_id (agent_id),
    FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Alembic's bookkeeping, as Alembic itself creates it (the database's default charset).
CREATE TABLE IF NOT EXISTS alembic_version (
    version_num VARCHAR(32) NOT NULL,
    PRIMARY KEY (version_num)
);

INSERT INTO alembic_version (version_num)
SELECT '0010_while_waiting' FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
