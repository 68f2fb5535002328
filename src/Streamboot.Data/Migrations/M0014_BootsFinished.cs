using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// A boot stops counting as booting (<c>--max-booting</c>) once its session
/// has ended: the client finished and left, or gave up. Until then it
/// counts for the booting window after its script, as before.
/// </summary>
[Migration(14, "Boots finished (leave the booting count)")]
public sealed class M0014_BootsFinished : Migration
{
    public override void Up() =>
        Alter.Table("boots").AddColumn("finished_at").AsCustom("timestamptz").Nullable();

    public override void Down() =>
        Delete.Column("finished_at").FromTable("boots");
}
