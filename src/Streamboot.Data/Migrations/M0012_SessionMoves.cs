using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Rebalancing (issue 12): the CLI is not a server, so it asks a server to
/// move one of its live sessions by marking the session's row; each server
/// reads the marks on its own rows every maintenance tick.
/// </summary>
[Migration(12, "Session move requests (rebalancing)")]
public sealed class M0012_SessionMoves : Migration
{
    public override void Up() =>
        Alter.Table("sessions")
            .AddColumn("move_requested_at").AsCustom("timestamptz").Nullable()
            .AddColumn("move_reason").AsString(32).Nullable();

    public override void Down() =>
        Delete.Column("move_requested_at").Column("move_reason").FromTable("sessions");
}
