"""var/ and what lies in it are made where first needed (celinsight/local_files.py)."""
import logging

from kombu import Connection

from celinsight.local_files import FileHandlerCreatingItsFolder, FolderBroker, prepare_var_dir


def test_a_command_makes_var_and_one_demo_secret_key_that_it_keeps(tmp_path, monkeypatch):
    monkeypatch.setenv("CELINSIGHT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("CELINSIGHT_PRODUCTION", raising=False)
    prepare_var_dir()
    key_file = tmp_path / "var" / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
    prepare_var_dir()
    assert key_file.read_text() == key  # sessions survive a restart


def test_no_demo_key_is_written_where_the_environment_gives_one_or_in_production(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CELINSIGHT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    prepare_var_dir()
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setenv("CELINSIGHT_PRODUCTION", "1")
    prepare_var_dir()
    assert list((tmp_path / "var").iterdir()) == []


def test_the_folder_broker_makes_its_folders_when_it_connects(tmp_path):
    folders = {"data_folder_in": tmp_path / "var" / "broker",
               "data_folder_out": tmp_path / "var" / "broker",
               "control_folder": tmp_path / "var" / "control"}
    connection = Connection("filesystem://", transport=FolderBroker,
                            transport_options={name: str(path) for name, path in folders.items()})
    assert not (tmp_path / "var").exists()
    with connection:
        queue = connection.SimpleQueue("cells")
        queue.put({"result_ids": [1, 2]})
        assert queue.get(timeout=1).payload == {"result_ids": [1, 2]}
        queue.close()
    assert all(path.is_dir() for path in folders.values())


def test_the_security_log_makes_its_file_at_its_first_line(tmp_path):
    log_file = tmp_path / "var" / "security.log"
    handler = FileHandlerCreatingItsFolder(str(log_file))
    assert not log_file.parent.exists()
    handler.emit(logging.makeLogRecord({"msg": "login_failed user=x", "levelno": logging.INFO}))
    handler.close()
    assert "login_failed user=x" in log_file.read_text()
