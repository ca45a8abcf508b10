"""The PostgreSQL store's schema as numbered migrations; the table `schema_version` says which ran.

The same tables as SQLite's: the inverted index a B-tree on (ix, term, rec), the change
sequence a sequence, datestamps `timestamptz`. Text that is sorted or ranged over is
COLLATE "C", so terms and sort keys order by code point exactly as in SQLite.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: records, the inverted index, libraries, the significant-change log, publishing log
    """
    CREATE SEQUENCE change_seq;
    -- one row: the writers' lock (SELECT ... FOR UPDATE), the highest id ever given, and a
    -- count of commits that tells a process another one has written
    CREATE TABLE counters (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        high_id bigint NOT NULL DEFAULT 0,
        commits bigint NOT NULL DEFAULT 0
    );
    INSERT INTO counters DEFAULT VALUES;
    CREATE TABLE records (
        id bigint PRIMARY KEY,
        seq bigint NOT NULL UNIQUE,
        datestamp timestamptz NOT NULL,
        version bigint NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        xml bytea NOT NULL,
        alma_xml bytea NOT NULL,
        sort_title text COLLATE "C" NOT NULL DEFAULT '',
        sort_author text COLLATE "C" NOT NULL DEFAULT '',
        sort_date text COLLATE "C" NOT NULL DEFAULT ''
    );
    CREATE INDEX records_datestamp ON records (datestamp, seq);
    CREATE TABLE terms (
        ix integer NOT NULL,
        term text COLLATE "C" NOT NULL,
        rec bigint NOT NULL,
        PRIMARY KEY (ix, term, rec)
    );
    CREATE TABLE libraries (
        code text PRIMARY KEY,
        name text NOT NULL DEFAULT '',
        sid_code text NOT NULL,
        level integer NOT NULL DEFAULT 30,
        privileged boolean NOT NULL DEFAULT false,
        password_hash text NOT NULL DEFAULT ''
    );
    CREATE TABLE library_lows (
        code text NOT NULL REFERENCES libraries (code) ON DELETE CASCADE,
        low text NOT NULL,
        PRIMARY KEY (code, low)
    );
    CREATE TABLE ssh_keys (
        code text NOT NULL REFERENCES libraries (code) ON DELETE CASCADE,
        key text NOT NULL,
        PRIMARY KEY (code, key)
    );
    CREATE TABLE significant_changes (
        seq bigint PRIMARY KEY,
        rec bigint NOT NULL,
        at timestamptz NOT NULL,
        "user" text NOT NULL,
        library text NOT NULL,
        fields jsonb NOT NULL
    );
    CREATE TABLE publishing_log (
        library text NOT NULL,
        file_key text NOT NULL,
        at timestamptz NOT NULL,
        result text NOT NULL,
        PRIMARY KEY (library, file_key)
    );
    """,
    # 2: state the gateway processes share (X-server sessions and result sets, numbering)
    """
    CREATE TABLE shared_state (
        space text NOT NULL,
        key text NOT NULL,
        value bytea NOT NULL,
        expires timestamptz NOT NULL,
        PRIMARY KEY (space, key)
    );
    CREATE TABLE shared_numbers (name text PRIMARY KEY, value bigint NOT NULL);
    """,
    # 3: OAI-PMH harvests (each run's state and report as JSON, and which record each
    # harvested local id went into); the fin01 view also as ISO 2709 (NULL: converted on
    # Present). (The ILL tables are migration 5.)
    """
    CREATE TABLE harvests (
        id bigint PRIMARY KEY,
        library text NOT NULL,
        state text NOT NULL,
        run text NOT NULL
    );
    CREATE TABLE harvested (
        library text NOT NULL,
        identifier text NOT NULL,
        rec bigint NOT NULL,
        how text NOT NULL,
        digest text NOT NULL,
        PRIMARY KEY (library, identifier)
    );
    ALTER TABLE records ADD COLUMN iso bytea;
    """,
    # 4: Asteri, the authority base fin11: its own records, index, change sequence and
    # highest id, the same shape as the bib base's, so one code serves both
    """
    CREATE SEQUENCE aut_change_seq;
    ALTER TABLE counters ADD COLUMN aut_high_id bigint NOT NULL DEFAULT 0;
    CREATE TABLE aut_records (
        id bigint PRIMARY KEY,
        seq bigint NOT NULL UNIQUE,
        datestamp timestamptz NOT NULL,
        version bigint NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        xml bytea NOT NULL,
        alma_xml bytea NOT NULL,
        sort_title text COLLATE "C" NOT NULL DEFAULT '',
        sort_author text COLLATE "C" NOT NULL DEFAULT '',
        sort_date text COLLATE "C" NOT NULL DEFAULT '',
        iso bytea
    );
    CREATE INDEX aut_records_datestamp ON aut_records (datestamp, seq);
    CREATE TABLE aut_terms (
        ix integer NOT NULL,
        term text COLLATE "C" NOT NULL,
        rec bigint NOT NULL,
        PRIMARY KEY (ix, term, rec)
    );
    """,
    # 5: ISO 18626 interlibrary loans: each request and every message in and out of it
    # (SQLite's migration 5), shared by every gateway process on the database
    """
    CREATE TABLE ill_requests (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        role text NOT NULL,
        library text NOT NULL,
        own_symbol text NOT NULL,
        peer_symbol text NOT NULL,
        peer_url text NOT NULL,
        request_id text NOT NULL,
        supplier_request_id text NOT NULL DEFAULT '',
        service text NOT NULL DEFAULT '',
        record text NOT NULL DEFAULT '',
        scenario text NOT NULL DEFAULT '',
        profile text NOT NULL DEFAULT 'standard',
        status text NOT NULL DEFAULT '',
        received boolean NOT NULL DEFAULT false,
        error text NOT NULL DEFAULT '',
        created double precision NOT NULL,
        updated double precision NOT NULL,
        UNIQUE (role, own_symbol, peer_symbol, request_id)
    );
    CREATE TABLE ill_messages (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        request bigint NOT NULL REFERENCES ill_requests (id) ON DELETE CASCADE,
        direction text NOT NULL,
        kind text NOT NULL,
        summary text NOT NULL,
        body text NOT NULL,
        delivery text NOT NULL,
        due double precision NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        detail text NOT NULL DEFAULT '',
        at double precision NOT NULL
    );
    CREATE INDEX ill_messages_request ON ill_messages (request, id);
    CREATE INDEX ill_messages_open ON ill_messages (due) WHERE delivery IN ('planned', 'pending');
    """,
    # 6: the request journal every gateway process on the database hands its entries to
    """
    CREATE TABLE shared_journal (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- arrival order across processes
        entry text NOT NULL                                  -- JSON of one journal entry
    );
    """,
    # 7: Asteri's linking jobs not finished (as SQLite's migration 7)
    """
    CREATE TABLE asteri_relinks (
        authority bigint PRIMARY KEY,
        since bigint NOT NULL
    );
    """,
    # 8: the fin01 view's OAI-PMH forms, made when the record is saved, so a harvest sends
    # stored bytes: its set specs (a JSON list) and its marc21 `<record>`; NULL (deleted
    # records, rows saved before, authorities) is made when harvested
    """
    ALTER TABLE records ADD COLUMN oai_sets text, ADD COLUMN oai_marc21 bytea;
    ALTER TABLE aut_records ADD COLUMN oai_sets text, ADD COLUMN oai_marc21 bytea;
    """,
    # 9: the journal handed on a batch a row (one insert a hand-on, not one an entry)
    """
    DROP TABLE shared_journal;
    CREATE TABLE shared_journal_batches (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- arrival order across processes
        entries integer NOT NULL,                            -- journal entries in the batch
        batch text NOT NULL                                  -- JSON of one process's entries
    );
    """,
)

# Tables a snapshot copies, in an order that satisfies the foreign keys on restore.
SNAPSHOT_TABLES: Final[tuple[str, ...]] = (
    "counters",
    "records",
    "terms",
    "aut_records",
    "aut_terms",
    "libraries",
    "library_lows",
    "ssh_keys",
    "significant_changes",
    "publishing_log",
    "harvests",
    "harvested",
    "ill_requests",
    "ill_messages",
    "asteri_relinks",
)
