"""is_connected_to.direction is seen from the referenced object.

aperture-data/Cookbook notebooks/query_languages/SPARQL.ipynb records a real server: its schema
lists the connection HasIngredient as ({'_Image'}, {'Ingredient'}) (cell 12), and the query the
SDK's SPARQL wrapper generates for "images with chicken and butter" (cell 20: FindImage
is_connected_to all [{"ref": <Ingredient>, "direction": "in", "connection_class":
"HasIngredient"}, ...]) returns the two matching images (cell 14). The SDK's
aperturedb/SPARQL.py add_is_connected_to builds "in" when the ref is the connection's
destination and "out" when it is the source.
"""
from .helpers import jpeg

CAPTIONS = {"Chicken in Creamy tomato based gravy": ["chicken", "tomato"],
            "Butter chicken, special fried rice, garlic naan": ["butter", "chicken", "rice"],
            "Buttery croissants with chocolate inside": ["butter", "flour"]}


def load_recipes(client, tag):
    ingredients = sorted({i for names in CAPTIONS.values() for i in names})
    query, blobs = [], []
    for n, name in enumerate(ingredients, start=1):
        query.append({"AddEntity": {"_ref": n, "class": "Ingredient", "properties": {"name": name, "tag": tag}}})
    ref = {name: n for n, name in enumerate(ingredients, start=1)}
    for k, (caption, names) in enumerate(CAPTIONS.items(), start=len(ingredients) + 1):
        query.append({"AddImage": {"_ref": k, "properties": {"caption": caption, "tag": tag}}})
        blobs.append(jpeg())
        query += [{"AddConnection": {"class": "HasIngredient", "src": k, "dst": ref[i]}} for i in names]
    r, _ = client.query(query, blobs)
    assert isinstance(r, list), r


def test_sparql_notebook_query_finds_images_of_ingredients(client, tag):
    """The exact query of SPARQL.ipynb cell 20 (plus a tag), answered as in cell 14."""
    load_recipes(client, tag)
    query = [
        {"FindEntity": {"with_class": "Ingredient", "_ref": 1, "uniqueids": True,
                        "constraints": {"name": ["==", "chicken"], "tag": ["==", tag]}}},
        {"FindEntity": {"with_class": "Ingredient", "_ref": 2, "uniqueids": True,
                        "constraints": {"name": ["==", "butter"], "tag": ["==", tag]}}},
        {"FindImage": {"_ref": 3, "uniqueids": True,
                       "is_connected_to": {"all": [
                           {"ref": 1, "direction": "in", "connection_class": "HasIngredient"},
                           {"ref": 2, "direction": "in", "connection_class": "HasIngredient"}]},
                       "group_by_source": True, "results": {"list": ["caption"]}}},
    ]
    r, _ = client.query(query)
    groups = r[2]["FindImage"]["entities"]
    assert [e["caption"] for group in groups.values() for e in group] == [
        "Butter chicken, special fried rice, garlic naan"]


def test_direction_in_out_any_from_the_referenced_object(client, tag):
    """"in": connections into the referenced object (images -> the ingredient); "out": out of it
    (none leave an ingredient); omitted: either way. From an image, "out" reaches its
    ingredients (SPARQL.py builds "out" when the ref is the source)."""
    load_recipes(client, tag)
    r, _ = client.query([
        {"FindEntity": {"_ref": 1, "with_class": "Ingredient",
                        "constraints": {"name": ["==", "butter"], "tag": ["==", tag]}}},
        {"FindImage": {"is_connected_to": {"ref": 1, "direction": "in"}, "results": {"count": True}}},
        {"FindImage": {"is_connected_to": {"ref": 1, "direction": "out"}, "results": {"count": True}}},
        {"FindImage": {"is_connected_to": {"ref": 1}, "results": {"count": True}}},
        {"FindImage": {"_ref": 2, "constraints": {"caption": ["==", "Buttery croissants with chocolate inside"]}}},
        {"FindEntity": {"with_class": "Ingredient", "is_connected_to": {"ref": 2, "direction": "out"},
                        "results": {"list": ["name"]}, "sort": "name"}},
        {"FindEntity": {"with_class": "Ingredient", "is_connected_to": {"ref": 2, "direction": "in"},
                        "results": {"count": True}}},
    ])
    assert [r[i]["FindImage"]["count"] for i in (1, 2, 3)] == [2, 0, 2]
    assert [e["name"] for e in r[5]["FindEntity"]["entities"]] == ["butter", "flour"]
    assert r[6]["FindEntity"]["count"] == 0


def test_region_connections_seen_from_the_image(client, tag):
    """_BoundingBoxToImage goes _BoundingBox -> _Image (docs query_language/Reference/
    db_commands/GetSchema): seen from the image the box's connection comes "in"."""
    r, _ = client.query([{"AddImage": {"_ref": 1, "properties": {"tag": tag}}},
                         {"AddBoundingBox": {"image_ref": 1, "rectangle": {"x": 0, "y": 0, "width": 2, "height": 2}}}],
                        [jpeg()])
    r, _ = client.query([
        {"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag]}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1, "direction": "in",
                                                 "connection_class": "_BoundingBoxToImage"},
                             "results": {"count": True}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1, "direction": "out"}, "results": {"count": True}}}])
    assert r[1]["FindBoundingBox"]["count"] == 1 and r[2]["FindBoundingBox"]["count"] == 0
