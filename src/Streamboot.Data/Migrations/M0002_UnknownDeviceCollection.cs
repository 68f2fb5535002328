using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Which collection a machine the database does not know falls into when it
/// asks to boot (its policy then decides: register, menu or refuse). At most
/// one collection at a time; a new site's is <c>default</c>.
/// </summary>
[Migration(2, "The collection that receives unknown devices")]
public sealed class M0002_UnknownDeviceCollection : Migration
{
    public override void Up()
    {
        Alter.Table("collections")
            .AddColumn("receives_unknown").AsBoolean().NotNullable().WithDefaultValue(false);
        Execute.Sql("UPDATE collections SET receives_unknown = (lower(name) = 'default')");
        Execute.Sql("CREATE UNIQUE INDEX ux_collections_receives_unknown ON collections (receives_unknown) WHERE receives_unknown");
    }

    public override void Down()
    {
        Execute.Sql("DROP INDEX ux_collections_receives_unknown");
        Delete.Column("receives_unknown").FromTable("collections");
    }
}
