"""What static tools see of ``plurel_sql`` (the names load lazily at run time:
``__init__.py``)."""

from plurel_sql.config import Config as Config
from plurel_sql.config import default_config as default_config
from plurel_sql.config import load_config as load_config
from plurel_sql.errors import ConfigError as ConfigError
from plurel_sql.errors import DatabaseError as DatabaseError
from plurel_sql.errors import PlurelError as PlurelError
from plurel_sql.errors import SchemaError as SchemaError
from plurel_sql.errors import VerificationError as VerificationError
from plurel_sql.generator.stream import DatabaseGenerator as DatabaseGenerator
from plurel_sql.interop.export import export as export
from plurel_sql.interop.importer import import_folder as import_folder
from plurel_sql.loader.dataset import ContextDataset as ContextDataset
from plurel_sql.loader.meta import Database as Database
from plurel_sql.loader.meta import open_database as open_database
from plurel_sql.loader.tasks import Task as Task
from plurel_sql.materialize.verify import VerifyReport as VerifyReport
from plurel_sql.materialize.verify import verify_database as verify
from plurel_sql.materialize.writer import WriteResult as WriteResult
from plurel_sql.orchestrate.job import fill as fill
from plurel_sql.orchestrate.job import generate as generate
from plurel_sql.orchestrate.many import SeedResult as SeedResult
from plurel_sql.orchestrate.many import generate_many as generate_many

__version__: str
__all__ = [
    "Config",
    "ConfigError",
    "ContextDataset",
    "Database",
    "DatabaseError",
    "DatabaseGenerator",
    "PlurelError",
    "SchemaError",
    "SeedResult",
    "Task",
    "VerificationError",
    "VerifyReport",
    "WriteResult",
    "__version__",
    "default_config",
    "export",
    "fill",
    "generate",
    "generate_many",
    "import_folder",
    "load_config",
    "open_database",
    "verify",
]
