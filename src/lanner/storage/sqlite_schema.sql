-- revision 0006
-- Made by `python -m lanner.storage.new_store` from the migrations' metadata; do not edit.

CREATE TABLE flows (
	namespace VARCHAR(150) NOT NULL,
	id VARCHAR(100) NOT NULL,
	revision INTEGER NOT NULL,
	source TEXT NOT NULL,
	deleted BOOLEAN NOT NULL,
	updated VARCHAR(40) NOT NULL,
	PRIMARY KEY (namespace, id, revision)
);

CREATE TABLE executions (
	id VARCHAR(40) NOT NULL,
	namespace VARCHAR(150) NOT NULL,
	flow_id VARCHAR(100) NOT NULL,
	state VARCHAR(20) NOT NULL,
	start_date VARCHAR(40),
	end_date VARCHAR(40),
	data TEXT NOT NULL,
	version INTEGER DEFAULT '0' NOT NULL,
	owner VARCHAR(40),
	owner_epoch INTEGER DEFAULT '0' NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_executions_flow_id ON executions (flow_id);

CREATE INDEX ix_executions_namespace ON executions (namespace);

CREATE INDEX ix_executions_owner ON executions (owner);

CREATE INDEX ix_executions_start_date ON executions (start_date);

CREATE INDEX ix_executions_state ON executions (state);

CREATE TABLE owners (
	id VARCHAR(40) NOT NULL,
	host VARCHAR(255) NOT NULL,
	boot_id VARCHAR(64) NOT NULL,
	pid INTEGER NOT NULL,
	started BIGINT NOT NULL,
	what VARCHAR(100) NOT NULL,
	heartbeat FLOAT NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE attempt_results (
	task_run_id VARCHAR(40) NOT NULL,
	attempt INTEGER NOT NULL,
	execution_id VARCHAR(40) NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (task_run_id, attempt)
);

CREATE INDEX ix_attempt_results_execution_id ON attempt_results (execution_id);

CREATE TABLE task_runs (
	id VARCHAR(40) NOT NULL,
	execution_id VARCHAR(40) NOT NULL,
	seq INTEGER NOT NULL,
	state VARCHAR(20) NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_task_runs_execution_id ON task_runs (execution_id);

CREATE TABLE logs (
	seq INTEGER NOT NULL,
	execution_id VARCHAR(40) NOT NULL,
	task_run_id VARCHAR(40),
	task_id VARCHAR(100),
	attempt INTEGER,
	level VARCHAR(8) NOT NULL,
	timestamp VARCHAR(40) NOT NULL,
	message TEXT NOT NULL,
	PRIMARY KEY (seq)
);

CREATE INDEX ix_logs_execution_id ON logs (execution_id);

CREATE TABLE commands (
	seq INTEGER NOT NULL,
	execution_id VARCHAR(40) NOT NULL,
	kind VARCHAR(20) NOT NULL,
	payload TEXT NOT NULL,
	created VARCHAR(40) NOT NULL,
	done BOOLEAN NOT NULL,
	PRIMARY KEY (seq)
);

CREATE INDEX ix_commands_done ON commands (done);

CREATE INDEX ix_commands_execution_id ON commands (execution_id);

CREATE TABLE triggers (
	namespace VARCHAR(150) NOT NULL,
	flow_id VARCHAR(100) NOT NULL,
	trigger_id VARCHAR(100) NOT NULL,
	data TEXT NOT NULL,
	updated VARCHAR(40) NOT NULL,
	PRIMARY KEY (namespace, flow_id, trigger_id)
);

CREATE TABLE queue_jobs (
	seq INTEGER NOT NULL,
	execution_id VARCHAR(40) NOT NULL,
	task_run_id VARCHAR(40) NOT NULL,
	attempt INTEGER NOT NULL,
	worker_group VARCHAR(100) DEFAULT '' NOT NULL,
	namespace VARCHAR(150) NOT NULL,
	flow_id VARCHAR(100) NOT NULL,
	revision INTEGER NOT NULL,
	claimed_by VARCHAR(100),
	claimed_at FLOAT,
	cancel BOOLEAN DEFAULT 0 NOT NULL,
	created FLOAT NOT NULL,
	PRIMARY KEY (seq),
	CONSTRAINT uq_queue_jobs_attempt UNIQUE (task_run_id, attempt)
);

CREATE INDEX ix_queue_jobs_claimed_by ON queue_jobs (claimed_by);

CREATE INDEX ix_queue_jobs_execution_id ON queue_jobs (execution_id);

CREATE INDEX ix_queue_jobs_pending ON queue_jobs (worker_group, seq);

CREATE TABLE queue_events (
	seq INTEGER NOT NULL,
	execution_id VARCHAR(40) NOT NULL,
	kind VARCHAR(20) NOT NULL,
	payload TEXT NOT NULL,
	due FLOAT NOT NULL,
	created FLOAT NOT NULL,
	PRIMARY KEY (seq)
);

CREATE INDEX ix_queue_events_due ON queue_events (due);

CREATE INDEX ix_queue_events_execution_id ON queue_events (execution_id);

CREATE TABLE workers (
	id VARCHAR(100) NOT NULL,
	worker_group VARCHAR(100) DEFAULT '' NOT NULL,
	hostname VARCHAR(255) NOT NULL,
	pid INTEGER NOT NULL,
	threads INTEGER NOT NULL,
	started FLOAT NOT NULL,
	heartbeat FLOAT NOT NULL,
	host_key VARCHAR(100),
	pid_start BIGINT,
	PRIMARY KEY (id)
);

CREATE INDEX ix_workers_heartbeat ON workers (heartbeat);

CREATE TABLE leases (
	name VARCHAR(50) NOT NULL,
	holder VARCHAR(100) NOT NULL,
	expires FLOAT NOT NULL,
	PRIMARY KEY (name)
);

CREATE TABLE execution_changes (
	seq INTEGER NOT NULL,
	payload TEXT NOT NULL,
	created FLOAT NOT NULL,
	PRIMARY KEY (seq)
);

CREATE INDEX ix_execution_changes_created ON execution_changes (created);

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

INSERT INTO alembic_version (version_num) VALUES ('0006');
