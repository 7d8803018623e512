"""The plugin is installed in an unmodified Label Studio: types API and routes answer."""


def test_storage_types_list_aperturedb(api):
    for url in ("/api/storages/types", "/api/storages/export/types"):
        response = api.get(url)
        assert response.status_code == 200
        assert {"name": "aperturedb", "title": "ApertureDB"} in response.json()


def test_form_layout_served(api):
    response = api.get("/api/storages/aperturedb/form")
    assert response.status_code == 200
    names = [f["name"] for row in response.json() for f in row["fields"]]
    assert {"hostname", "port", "password", "constraints"} <= set(names)
    response = api.get("/api/storages/export/aperturedb/form")
    assert "can_delete_objects" in [f["name"] for row in response.json() for f in row["fields"]]


def test_anonymous_gets_no_storage_api(client, db):
    assert client.get("/api/storages/aperturedb/form").status_code in (401, 403)
