"""The SDK suite's tests that are not run against the emulator, each with its reason.

An id is `file::[Class::]test` (meaning all its parameter variants: [TCP]/[TLS], with/without
dask) or a full pytest id with its parameters. No patterns: every test is named. When every
test function of a file is listed, run.py does not even import the file (it may need a module
that is not installed). Remove an entry as soon as the emulator or the environment covers it:
run.py fails when a test that is not listed here fails.

Not generated at all (so not listed): the REST variant of `db` — the emulator has no REST
gateway, so tests/sdk_suite/sdk_conftest.py parametrises `db` over TCP and TLS only. The SDK's
own client-only unit tests (mocks, no server) run too; a few skip themselves (torch/CLIP).
"""
import importlib.util

CLOUD_URLS = ("loads images/videos from S3, GCS or HTTP URLs: cloud buckets and the internet "
              "are out of scope (no network at test time)")
VIDEO_URLS = ("loads videos from S3, GCS or HTTP URLs: cloud buckets and the internet are out of "
              "scope (the emulator stores videos; tests/emulator/test_video.py covers them with "
              "videos generated at test time)")
TORCH = "needs torch (PyTorchDataset), kept out of the default install as a heavy dependency"
TENSORFLOW = "needs tensorflow (TensorFlowDataset), kept out of the default install as a heavy dependency"
SPARQL_COOKBOOK = ("downloads the Cookbook's convert_ingredients script at run time and embeds every "
                   "image with CLIP (openai-clip + torch weights) before the SPARQL queries")
USER_ADMIN = ("user, role and token administration (CreateRole, CreateUser, UpdateUser, RemoveUser, "
              "GenerateToken): the emulator has one configured user and does not claim these commands")

DASK_VARIANT = ("dask variant of a test that also runs without dask over TCP and TLS, sending the same "
                "commands: it passes, but starts a LocalCluster of worker processes (20-30 s per test "
                "on 2 cores); the emulator serves dask workers in test_DaskSessions and "
                "test_Parallel::test_dask_dry_run")
DASK_META = ("dask variant: with the installed dask/pandas, SDK 0.5.3's DaskManager fails before any "
             "query (dask's meta inference calls the CSV loader's getitem on a placeholder row: "
             "TypeError in os.path.join / int()), a client-side incompatibility, not a server behaviour; "
             "the same test runs without dask over TCP and TLS")

DESELECTED = {
    # test_Data: URI loaders (marked external_network + remote_credentials upstream)
    "test_Data.py::TestURILoader::test_S3ImageLoader": CLOUD_URLS,
    "test_Data.py::TestURILoader::test_HttpImageLoader": CLOUD_URLS,
    "test_Data.py::TestURILoader::test_GSImageLoader": CLOUD_URLS,
    "test_Data.py::TestURILoader::test_S3VideoLoader": VIDEO_URLS,
    "test_Data.py::TestURILoader::test_HttpVideoLoader": VIDEO_URLS,
    "test_Data.py::TestURILoader::test_GSVideoLoader": VIDEO_URLS,

    # test_Data: dask variants
    "test_Data.py::TestEntityLoader::test_Loader[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_BlobLoader[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_conditional_add[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_updateif_fails[TCP-with_dask]": DASK_VARIANT,
    "test_Data.py::TestEntityLoader::test_updateif_passes[TCP-with_dask]": DASK_VARIANT,
    "test_Data.py::TestEntityLoader::test_updateif_partial_age[TCP-with_dask]": DASK_VARIANT,
    "test_Data.py::TestEntityLoader::test_updateif_add_image[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_updateif_image_immutable[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_imageforce_load_base[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_imageforce_load_nonupdate[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_imageforce_update[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_image_sparse[TCP-with_dask]": DASK_META,
    "test_Data.py::TestEntityLoader::test_LoaderDescriptorsImages[TCP-with_dask]": DASK_META,

    # SPARQL over the Cookbook dataset
    "test_SPARQL.py::test_sparql": SPARQL_COOKBOOK,

    # users, roles, tokens
    "test_SessionSecurity.py::test_user_change_recovers_before_local_expiry": USER_ADMIN,
    "test_SessionSecurity.py::test_role_change_applies_to_existing_connection": USER_ADMIN,
    "test_SessionSecurity.py::test_personal_token_recovers_then_stops_after_revocation": USER_ADMIN,
    "test_SessionSecurity.py::test_password_change_does_not_retry_write_with_old_credentials": USER_ADMIN,
    "test_SessionSecurity.py::test_concurrent_clones_reauthenticate_once": USER_ADMIN,

}

# ML framework datasets (the whole files import torch / tensorflow): listed only while the
# framework is not installed, so installing it runs them (they read Find* replies in `batch`es).
if importlib.util.find_spec("torch") is None:
    DESELECTED.update({
        "test_torch_connector.py::TestTorchDatasets::test_nativeConstraints": TORCH,
        "test_torch_connector.py::TestTorchDatasets::test_findBlob": TORCH,
        "test_torch_connector.py::TestTorchDatasets::test_datasetWithMultiprocessing": TORCH,
        "test_torch_connector.py::TestTorchDatasets::test_findVideo_mocked": TORCH,
    })
if importlib.util.find_spec("tensorflow") is None:
    DESELECTED.update({
        "test_tf_connector.py::TestTfDatasets::test_nativeConstraints": TENSORFLOW,
        "test_tf_connector.py::TestTfDatasets::test_batchedDataset": TENSORFLOW,
        "test_tf_connector.py::TestTfDatasets::test_dynamic_label_dtype": TENSORFLOW,
        "test_tf_connector.py::TestTfDatasets::test_findBlob": TENSORFLOW,
        "test_tf_connector.py::TestTfDatasets::test_findVideo_mocked": TENSORFLOW,
    })
