from exports.roles import is_data_scientist


def roles(request) -> dict:
    """`can_export` for the navigation: the group is looked up only when a page asks."""
    return {"can_export": lambda: is_data_scientist(getattr(request, "user", None))}
