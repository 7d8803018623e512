"""conftest.py for the SDK's own test suite (copied next to its test files by run.py).

The sdist ships the SDK's `test_*.py` files but not the conftest.py / dbinfo.py they rely on,
so this file provides the fixtures they request, with the names and behaviour the tests
expect (`db`, `utils`, `insert_data_from_csv`, `modify_data_from_csv`, `images`,
`retired_persons`, `config`). `db` is a Connector to the emulator over plain TCP and over
TLS (server certificate checked against the generated CA); the REST variant is not generated
because the emulator has no REST gateway. The with_dask/without_dask split of test_Data
follows the suite's own parametrisation.
"""
import json
import os

import pytest
from aperturedb.BBoxDataCSV import BBoxDataCSV
from aperturedb.BlobDataCSV import BlobDataCSV
from aperturedb.ConnectionDataCSV import ConnectionDataCSV
from aperturedb.Connector import Connector
from aperturedb.Constraints import Constraints
from aperturedb.DescriptorDataCSV import DescriptorDataCSV
from aperturedb.DescriptorSetDataCSV import DescriptorSetDataCSV
from aperturedb.Entities import Entities
from aperturedb.EntityDataCSV import EntityDataCSV
from aperturedb.EntityUpdateDataCSV import SingleEntityUpdateDataCSV
from aperturedb.ImageDataCSV import (ImageDataCSV, ImageForceNewestDataCSV, ImageSparseAddDataCSV,
                                     ImageUpdateDataCSV)
from aperturedb.ParallelLoader import ParallelLoader
from aperturedb.ParallelQuerySet import ParallelQuerySet
from aperturedb.Query import Query
from aperturedb.Utils import Utils

import dbinfo

DASK_PARAMETRISED_MODULES = ("test_Data",)


def _connector(transport):
    return Connector(host=dbinfo.DB_TCP_HOST, port=dbinfo.DB_TCP_PORT, user=dbinfo.DB_USER,
                     password=dbinfo.DB_PASSWORD, use_ssl=(transport == "TLS"),
                     ca_cert=dbinfo.CA_CERT, verify_hostname=dbinfo.VERIFY_HOSTNAME,
                     retry_max_attempts=3, retry_interval_seconds=0)


def pytest_generate_tests(metafunc):
    """`db` over TCP and TLS. In test_Data, loader fixtures also run with and without dask
    (the suite's own split); the dask variant runs over TCP only: dask changes how the client
    splits the work, not the wire, and each variant starts a process cluster."""
    names = metafunc.fixturenames
    loaders = [f for f in ("insert_data_from_csv", "modify_data_from_csv") if f in names]
    if metafunc.module.__name__ in DASK_PARAMETRISED_MODULES and loaders and "db" in names:
        metafunc.parametrize(["db"] + loaders, [
            pytest.param("TCP", *[True] * len(loaders), marks=pytest.mark.dask, id="TCP-with_dask"),
            pytest.param("TCP", *[False] * len(loaders), id="TCP-without_dask"),
            pytest.param("TLS", *[False] * len(loaders), id="TLS-without_dask"),
        ], indirect=True)
    elif "db" in names:
        metafunc.parametrize("db", ["TCP", "TLS"], indirect=True)


@pytest.fixture()
def db(request):
    client = _connector(request.param)
    assert Utils(client).remove_all_objects()
    yield client
    client.close()


def _check_no_blobs_in_add_replies(queries, input_blobs, responses, output_blobs):
    """The suite's response check: Add replies carry no blobs; a failed batch is status -1 or 3."""
    if isinstance(responses, list):
        first_command = list(responses[0].keys())[0]
        assert "blobs_start" not in responses[0][first_command], f"{responses[0]=}"
    else:
        assert responses["status"] in [-1, 3], f"{responses=}"


INSERT_LOADERS = {
    "./input/persons.adb.csv": EntityDataCSV,
    "./input/images.adb.csv": ImageDataCSV,
    "./input/connections-persons-images.adb.csv": ConnectionDataCSV,
    "./input/bboxes.adb.csv": BBoxDataCSV,
    "./input/blobs.adb.csv": BlobDataCSV,
    "./input/descriptorset.adb.csv": DescriptorSetDataCSV,
    "./input/setA.adb.csv": DescriptorDataCSV,
    "./input/setB.adb.csv": DescriptorDataCSV,
    "./input/bboxes-constraints.adb.csv": BBoxDataCSV,
    "./input/persons-exist-base.adb.csv": EntityDataCSV,
    "./input/persons-some-exist.adb.csv": EntityDataCSV,
}


class UpdatePersonEntityDataCSV(SingleEntityUpdateDataCSV):
    def __init__(self, filename, **kwargs):
        super().__init__("Person", filename, **kwargs)


MODIFY_LOADERS = {
    "./input/persons-update.adb.csv": UpdatePersonEntityDataCSV,
    "./input/persons-update-oldversion.adb.csv": UpdatePersonEntityDataCSV,
    "./input/persons-update-newversion.adb.csv": UpdatePersonEntityDataCSV,
    "./input/persons-update-olderage.adb.csv": UpdatePersonEntityDataCSV,
    "./input/images_updateif_baseload.adb.csv": ImageUpdateDataCSV,
    "./input/images_updateif_mixednew.adb.csv": ImageUpdateDataCSV,
    "./input/images_updateif_fail_baseload.adb.csv": ImageUpdateDataCSV,
    "./input/images_updateif_fail_updates.adb.csv": ImageUpdateDataCSV,
    "./input/images_forceupdate_baseload.adb.csv": ImageForceNewestDataCSV,
    "./input/images_forceupdate_mixednew.adb.csv": ImageForceNewestDataCSV,
    "./input/images_forceupdate_fail_base.adb.csv": ImageForceNewestDataCSV,
    "./input/images_forceupdate_fail_updates.adb.csv": ImageForceNewestDataCSV,
    "./input/images_forceupdate_blob_baseload.adb.csv": ImageForceNewestDataCSV,
    "./input/images_forceupdate_updates.adb.csv": ImageForceNewestDataCSV,
    "./input/images_sparseload_base.adb.csv": ImageSparseAddDataCSV,
    "./input/images_sparseload_full.adb.csv": ImageSparseAddDataCSV,
}


def _use_dask(request, rec_count, serial=False):
    # As upstream: fewer than 80 records are loaded serially (dask needs enough rows).
    if serial or 0 < rec_count < 80:
        return False
    return bool(getattr(request, "param", False))


@pytest.fixture()
def insert_data_from_csv(db, request):
    """Load a suite CSV with ParallelLoader and check what the suite's own fixture checks:
    no errors, the expected number of failed queries, every declared index present."""
    def insert(in_csv_file, rec_count=-1, expected_error_count=0, loader_result_lambda=None):
        use_dask = _use_dask(request, rec_count, serial="descriptorset" in in_csv_file)
        data = INSERT_LOADERS[in_csv_file](in_csv_file, use_dask=use_dask, blobs_relative_to_csv=True)
        data.response_handler = _check_no_blobs_in_add_replies
        data.strict_response_validation = True
        if rec_count != -1:
            data = data[:rec_count]
        loader = ParallelLoader(db)
        loader.ingest(data, batchsize=503, numthreads=4, stats=True)
        if hasattr(data, "get_indices"):
            observed = loader.get_existing_indices()
            for kind, classes in data.get_indices().items():
                for cls, props in classes.items():
                    for prop in props:
                        assert prop in observed[kind][cls], f"Index {prop} not found for {cls}: {observed=}"
        assert loader.error_counter == 0
        assert len(data) - loader.get_succeeded_queries() == expected_error_count
        if loader_result_lambda is not None:
            loader_result_lambda(loader, data)
        return data, loader  # the loader keeps a dask manager alive
    return insert


@pytest.fixture()
def modify_data_from_csv(db, request):
    """Run an update/conditional-add CSV through ParallelQuerySet, as the suite's fixture does."""
    def modify(in_csv_file, rec_count=-1):
        use_dask = _use_dask(request, rec_count)
        data = MODIFY_LOADERS[in_csv_file](in_csv_file, use_dask=use_dask, blobs_relative_to_csv=True)
        if rec_count != -1:
            data = data[:rec_count]
        loader = ParallelQuerySet(db)
        loader.query(data, batchsize=99, numthreads=1, stats=True)
        assert loader.error_counter == 0
        return data, loader
    return modify


@pytest.fixture()
def utils(db):
    return Utils(db)


@pytest.fixture()
def images(insert_data_from_csv):
    return insert_data_from_csv("./input/images.adb.csv")


@pytest.fixture()
def retired_persons(db, insert_data_from_csv, utils):
    utils.remove_entities(class_name="Person")
    insert_data_from_csv("./input/persons.adb.csv")
    constraints = Constraints()
    constraints.greaterequal("age", 60)
    return Entities.retrieve(db, spec=Query.spec(with_class="Person", constraints=constraints))


@pytest.fixture()
def config():
    """A configuration as `adb config create` writes it (test_CLI)."""
    return {
        "first": {"host": "localhost", "port": 55555, "username": "admin", "password": "admin",
                  "name": "first", "use_ssl": True, "use_rest": False},
        "active": "first",
    }


def pytest_collection_modifyitems(config, items):
    """Deselect the ids run.py passes in deselected.json: an exact test id, or a test id without
    its [parameters] for all its variants. Writes what was deselected to deselected-report.json."""
    path = os.path.join(config.rootpath, "deselected.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        listed = json.load(f)
    keep, dropped = [], {}
    for item in items:
        reason = listed.get(item.nodeid) or listed.get(item.nodeid.split("[")[0])
        if reason:
            dropped[item.nodeid] = reason
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=[i for i in items if i.nodeid in dropped])
        items[:] = keep
    with open(os.path.join(config.rootpath, "deselected-report.json"), "w") as f:
        json.dump(dropped, f, indent=1)


def pytest_configure(config):
    for marker in ("slow", "external_network", "remote_credentials", "kaggle", "http", "tcp", "dask"):
        config.addinivalue_line("markers", f"{marker}: SDK suite marker")
    os.environ.setdefault("ADB_LOG_FILE", "")
