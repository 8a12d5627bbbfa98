"""Things looked up by name (backbones, hybrid designs, heads), timm style.

    BACKBONES = Registry("backbone")

    @BACKBONES.register("resnet34")
    def resnet34(pretrained=True, weights_path=None): ...

    BACKBONES.names()                          # the documentation: what can be asked for
    BACKBONES.create("resnet34", pretrained=False)
"""


class Registry:
    """Factories (functions or classes) by name, for one ``kind`` of thing."""

    def __init__(self, kind):
        self.kind = kind
        self._factories = {}

    def register(self, name):
        """Decorator adding the decorated factory under ``name``; a name is taken once."""
        def decorator(factory):
            if name in self._factories:
                raise ValueError(f"{self.kind.capitalize()} {name!r} is already registered")
            self._factories[name] = factory
            return factory
        return decorator

    def names(self):
        """Sorted registered names."""
        return sorted(self._factories)

    def __contains__(self, name):
        return name in self._factories

    def __getitem__(self, name):
        """The factory registered as ``name``; KeyError listing the names otherwise."""
        if name not in self._factories:
            raise KeyError(f"Unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._factories[name]

    def create(self, name, **kwargs):
        """Call the factory registered as ``name`` with ``kwargs``."""
        return self[name](**kwargs)
