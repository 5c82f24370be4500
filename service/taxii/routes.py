"""The TAXII 2.1 endpoints (sections 4 and 5): parse, authenticate, get the unit of work from
``service.api.deps``, call one function of ``service.taxii.resources``, answer TAXII JSON."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from service.api.body import read_body
from service.api.deps import NodeDep, ReadSession, RemoteAddr, WriteSession
from service.taxii import resources
from service.taxii.auth import Caller
from service.taxii.media import TaxiiResponse, check_accept, check_content_type

router = APIRouter(dependencies=[Depends(check_accept)], default_response_class=TaxiiResponse)


def _served(served: resources.Served) -> Response:
    return Response(served.body, media_type=TaxiiResponse.media_type, headers=served.headers)


def _base_url(request: Request, node: NodeDep) -> str:
    configured = node.settings.taxii_public_url
    return configured or str(request.base_url).rstrip("/")


@router.get("/taxii2/")
def discovery(
    request: Request, node: NodeDep, session: ReadSession, caller: Caller, addr: RemoteAddr
) -> TaxiiResponse:
    return TaxiiResponse(resources.discovery(session, node, caller, _base_url(request, node), addr))


@router.get("/{root}/")
def api_root(
    root: str, node: NodeDep, session: ReadSession, caller: Caller, addr: RemoteAddr
) -> TaxiiResponse:
    return TaxiiResponse(resources.api_root(session, node, caller, root, addr))


@router.get("/{root}/status/{status_id}/")
def get_status(
    root: str, status_id: str, node: NodeDep, session: ReadSession, caller: Caller,
    addr: RemoteAddr,
) -> TaxiiResponse:  # fmt: skip
    return TaxiiResponse(resources.get_status(session, node, caller, root, status_id, addr))


@router.get("/{root}/collections/")
def collections(
    root: str, node: NodeDep, session: ReadSession, caller: Caller, addr: RemoteAddr
) -> TaxiiResponse:
    return TaxiiResponse(resources.list_collections(session, node, caller, root, addr))


@router.get("/{root}/collections/{collection}/")
def collection(
    root: str, collection: str, node: NodeDep, session: ReadSession, caller: Caller,
    addr: RemoteAddr,
) -> TaxiiResponse:  # fmt: skip
    return TaxiiResponse(resources.get_collection(session, node, caller, root, collection, addr))


@router.get("/{root}/collections/{collection}/manifest/")
def manifest(
    request: Request, root: str, collection: str, node: NodeDep, session: ReadSession,
    caller: Caller, addr: RemoteAddr,
) -> Response:  # fmt: skip
    params = dict(request.query_params)
    return _served(resources.manifest(session, node, caller, root, collection, params, addr))


@router.get("/{root}/collections/{collection}/objects/")
def get_objects(
    request: Request, root: str, collection: str, node: NodeDep, session: ReadSession,
    caller: Caller, addr: RemoteAddr,
) -> Response:  # fmt: skip
    params = dict(request.query_params)
    return _served(resources.objects(session, node, caller, root, collection, params, addr))


async def _body(request: Request, node: NodeDep) -> bytes:
    """The POST body (TAXII or STIX JSON), refused past the node's report size limit."""
    check_content_type(request)
    return await read_body(request, node.settings.max_report_bytes)


@router.post("/{root}/collections/{collection}/objects/", status_code=202)
def add_objects(
    root: str, collection: str, node: NodeDep, session: WriteSession, caller: Caller,
    addr: RemoteAddr, data: bytes = Depends(_body),
) -> TaxiiResponse:  # fmt: skip
    resource = resources.add_objects(session, node, caller, root, collection, data, addr)
    return TaxiiResponse(resource, status_code=202)


@router.get("/{root}/collections/{collection}/objects/{object_id}/")
def get_object(
    request: Request, root: str, collection: str, object_id: str, node: NodeDep,
    session: ReadSession, caller: Caller, addr: RemoteAddr,
) -> Response:  # fmt: skip
    params = dict(request.query_params)
    return _served(
        resources.objects(session, node, caller, root, collection, params, addr, object_id)
    )


@router.delete("/{root}/collections/{collection}/objects/{object_id}/")
def delete_object(
    root: str, collection: str, object_id: str, node: NodeDep, session: ReadSession,
    caller: Caller, addr: RemoteAddr,
) -> Response:  # fmt: skip
    resources.refuse_delete(session, node, caller, root, collection, object_id, addr)
    return Response(status_code=200)  # never reached: refuse_delete always raises


@router.get("/{root}/collections/{collection}/objects/{object_id}/versions/")
def get_versions(
    request: Request, root: str, collection: str, object_id: str, node: NodeDep,
    session: ReadSession, caller: Caller, addr: RemoteAddr,
) -> Response:  # fmt: skip
    params = dict(request.query_params)
    return _served(
        resources.versions(session, node, caller, root, collection, object_id, params, addr)
    )
