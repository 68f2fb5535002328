using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// When a server stopped cleanly. A server whose heartbeat is old and that
/// recorded no stop is missing (crashed, cut off), which <c>server list</c>
/// tells apart from one that was stopped; a name held by a server that
/// beats and has not stopped is refused to a second server.
/// (Number 8 is left to the iSCSI branch, which adds its own.)
/// </summary>
[Migration(9, "When a server stopped cleanly")]
public sealed class M0009_ServerStopped : Migration
{
    private const string UtcTimestamp = "timestamptz";

    public override void Up()
    {
        Alter.Table("servers").AddColumn("stopped_at").AsCustom(UtcTimestamp).Nullable();
    }

    public override void Down()
    {
        Delete.Column("stopped_at").FromTable("servers");
    }
}
